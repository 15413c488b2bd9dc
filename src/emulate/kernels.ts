/**
 * Debian kernels for the emulator, fetched once and cached.
 *
 * Kernels are downloaded as .deb with `apt-get download` (never installed),
 * unpacked with `dpkg -x`, and only the kernel image plus the handful of
 * virtio/9p modules the initramfs needs are kept, under
 * `${XDG_CACHE_HOME:-~/.cache}/hmsdk/kernels/<version>/`. A cached kernel is
 * used without touching apt or the network.
 *
 * - 6.1 comes from the system's own (bookworm) apt lists; `apt-get update` is
 *   run only when the package is not found. Without root (no system update
 *   possible) a private bookworm list is used instead.
 * - 6.12 comes from trixie through a private sources list, state and cache
 *   directory under the hmsdk cache: nothing on the system changes.
 *
 * Debian 13 ships modules as `.ko.xz`; busybox insmod cannot read them, so
 * they are decompressed at cache time.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HmsdkError } from '../errors';
import { requireTool, runTool } from './tools';

/** Kernel versions the emulator can boot. */
export type KernelVersion = '6.1' | '6.12';

/** All supported kernel versions, oldest first. */
export const KERNEL_VERSIONS: readonly KernelVersion[] = ['6.1', '6.12'];

/**
 * Debian suite and the modules the initramfs needs per kernel. Their
 * dependencies (from each module's `depends=`) are added and everything is
 * loaded dependencies first; built-in ones are skipped.
 */
const SPECS: Record<KernelVersion, { suite: string; modules: string[] }> = {
  '6.1': { suite: 'bookworm', modules: ['virtio_pci', '9pnet_virtio', '9p'] },
  '6.12': { suite: 'trixie', modules: ['virtio_pci', '9pnet_virtio', '9p'] },
};

/** A kernel ready to boot. */
export interface CachedKernel {
  /** Requested version. */
  version: KernelVersion;
  /** Cache directory of this kernel. */
  dir: string;
  /** Kernel image. */
  vmlinuz: string;
  /** Uncompressed modules to insmod, in order. */
  modules: string[];
  /** Debian package the kernel came from. */
  packageName: string;
  /** `uname -r` of the kernel. */
  release: string;
}

/** `${XDG_CACHE_HOME:-~/.cache}/hmsdk`. */
export function cacheRoot(): string {
  const xdg = process.env.XDG_CACHE_HOME;
  return path.join(xdg && path.isAbsolute(xdg) ? xdg : path.join(os.homedir(), '.cache'), 'hmsdk');
}

/** Parse a `--kernel` value. Throws `ECONFIG` for unknown versions. */
export function parseKernelVersion(v: string): KernelVersion {
  if ((KERNEL_VERSIONS as readonly string[]).includes(v)) return v as KernelVersion;
  throw new HmsdkError('ECONFIG', `unknown kernel '${v}' (known: ${KERNEL_VERSIONS.join(', ')})`);
}

/** The cached kernel, or undefined when it has not been fetched yet. */
export function cachedKernel(version: KernelVersion): CachedKernel | undefined {
  const dir = path.join(cacheRoot(), 'kernels', version);
  try {
    const m = JSON.parse(fs.readFileSync(path.join(dir, 'kernel.json'), 'utf8')) as { packageName: string; release: string; modules: string[] };
    const k: CachedKernel = {
      version,
      dir,
      vmlinuz: path.join(dir, 'vmlinuz'),
      modules: m.modules.map((f) => path.join(dir, 'modules', f)),
      packageName: m.packageName,
      release: m.release,
    };
    for (const f of [k.vmlinuz, ...k.modules]) if (!fs.existsSync(f)) return undefined;
    return k;
  } catch {
    return undefined;
  }
}

/**
 * The kernel `version`, from the cache or fetched into it (network on first
 * use only). `log` receives one-line progress messages.
 */
export async function ensureKernel(version: KernelVersion, log: (line: string) => void = () => {}): Promise<CachedKernel> {
  const hit = cachedKernel(version);
  if (hit) return hit;
  const t0 = Date.now();
  const root = path.join(cacheRoot(), 'kernels');
  fs.mkdirSync(root, { recursive: true });
  const staging = fs.mkdtempSync(path.join(root, `.${version}.tmp-`));
  try {
    log(`fetching Debian kernel ${version} (${SPECS[version].suite}) into ${path.join(root, version)} ...`);
    const { packageName, deb } = await downloadKernelDeb(version, staging, log);
    const x = path.join(staging, 'x');
    const dpkg = requireTool('dpkg');
    const r = await runTool(dpkg, ['-x', deb, x]);
    if (r.code !== 0) throw new HmsdkError('ETOOL', `dpkg -x ${path.basename(deb)} failed: ${r.stderr.trim()}`);
    const out = path.join(staging, 'out');
    fs.mkdirSync(path.join(out, 'modules'), { recursive: true });
    const { release, modules } = await extractKernel(version, x, out);
    fs.writeFileSync(path.join(out, 'kernel.json'), JSON.stringify({ packageName, release, modules, fetchedAt: new Date().toISOString() }, null, 2) + '\n');
    const dest = path.join(root, version);
    fs.rmSync(dest, { recursive: true, force: true });
    fs.renameSync(out, dest);
    log(`kernel ${version} (${packageName}) cached in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
  const k = cachedKernel(version);
  if (!k) throw new HmsdkError('ETOOL', `kernel ${version} was fetched but the cache at ${path.join(root, version)} is incomplete`);
  return k;
}

/** apt-get/apt-cache options selecting a set of lists (empty: the system's). */
interface AptContext {
  opts: string[];
  label: string;
  system: boolean;
}

const SYSTEM_APT: AptContext = { opts: [], label: 'system apt lists', system: true };

/** The system's Debian mirror URI (for private lists), default deb.debian.org. */
function systemMirror(): string {
  try {
    const t = fs.readFileSync('/etc/apt/sources.list.d/debian.sources', 'utf8');
    const m = /^URIs:\s*(\S+)/m.exec(t);
    if (m) return m[1]!;
  } catch {
    // fall through
  }
  try {
    const t = fs.readFileSync('/etc/apt/sources.list', 'utf8');
    const m = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+\S+\s+main/m.exec(t);
    if (m && !m[1]!.includes('security')) return m[1]!;
  } catch {
    // fall through
  }
  return 'http://deb.debian.org/debian';
}

/** A private apt list for `suite` under the hmsdk cache; changes nothing on the system. */
function privateApt(suite: string): AptContext {
  const dir = path.join(cacheRoot(), 'apt', suite);
  fs.mkdirSync(path.join(dir, 'lists', 'partial'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'cache', 'archives', 'partial'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'sources.list'), `deb ${systemMirror()} ${suite} main\n`);
  return {
    opts: [
      '-o', `Dir::Etc::sourcelist=${path.join(dir, 'sources.list')}`,
      '-o', 'Dir::Etc::sourceparts=-',
      '-o', `Dir::State::Lists=${path.join(dir, 'lists')}`,
      '-o', `Dir::Cache=${path.join(dir, 'cache')}`,
    ],
    label: `private ${suite} apt lists in ${dir}`,
    system: false,
  };
}

/** Name of the kernel package `linux-image-amd64` depends on, or undefined. */
async function resolvePackage(apt: AptContext, version: KernelVersion): Promise<string | undefined> {
  const r = await runTool(requireTool('apt-cache'), [...apt.opts, 'depends', 'linux-image-amd64']);
  if (r.code !== 0) return undefined;
  const re = new RegExp(`Depends:\\s*(linux-image-${version.replace('.', '\\.')}[.-]\\S*-amd64)\\b`);
  return re.exec(r.stdout)?.[1];
}

async function aptUpdate(apt: AptContext, log: (l: string) => void): Promise<void> {
  log(`apt-get update (${apt.label}) ...`);
  const r = await runTool(requireTool('apt-get'), [...apt.opts, '-q', 'update']);
  if (r.code !== 0) throw new HmsdkError('ETOOL', `apt-get update (${apt.label}) failed: ${lastLines(r.stderr || r.stdout)}`);
}

/** Download the kernel .deb into `dir`; runs `apt-get update` only when needed. */
async function downloadKernelDeb(version: KernelVersion, dir: string, log: (l: string) => void): Promise<{ packageName: string; deb: string }> {
  const suite = SPECS[version].suite;
  const isRoot = process.getuid?.() === 0;
  let apt = suite === 'bookworm' ? SYSTEM_APT : privateApt(suite);
  let updated = false;
  for (;;) {
    const pkg = await resolvePackage(apt, version);
    let why = `linux-image-amd64 in ${apt.label} depends on no ${version} kernel`;
    if (pkg) {
      const r = await runTool(requireTool('apt-get'), [...apt.opts, '-q', 'download', pkg], { cwd: dir });
      const deb = fs.readdirSync(dir).find((f) => f.startsWith(`${pkg}_`) && f.endsWith('.deb'));
      if (r.code === 0 && deb) return { packageName: pkg, deb: path.join(dir, deb) };
      why = `apt-get download ${pkg} failed: ${lastLines(r.stderr || r.stdout)}`;
    }
    if (updated) throw new HmsdkError('ETOOL', `cannot fetch kernel ${version}: ${why}`);
    if (apt.system && !isRoot) apt = privateApt(suite); // cannot update the system lists without root
    await aptUpdate(apt, log);
    updated = true;
  }
}

/** Copy vmlinuz and the needed modules from an unpacked package into `out`. */
async function extractKernel(version: KernelVersion, x: string, out: string): Promise<{ release: string; modules: string[] }> {
  const boot = path.join(x, 'boot');
  const image = fs.existsSync(boot) ? fs.readdirSync(boot).find((f) => f.startsWith('vmlinuz-')) : undefined;
  if (!image) throw new HmsdkError('ETOOL', `kernel ${version} package has no boot/vmlinuz-*`);
  const release = image.slice('vmlinuz-'.length);
  fs.copyFileSync(path.join(boot, image), path.join(out, 'vmlinuz'));
  const modRoot = [path.join(x, 'lib', 'modules', release), path.join(x, 'usr', 'lib', 'modules', release)].find((d) => fs.existsSync(d));
  if (!modRoot) throw new HmsdkError('ETOOL', `kernel ${version} package has no modules directory for ${release}`);
  const files = new Map<string, string>();
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.ko(\.xz)?$/.test(e.name)) files.set(e.name.replace(/\.ko(\.xz)?$/, '').replace(/-/g, '_'), p);
    }
  };
  walk(path.join(modRoot, 'kernel'));
  let builtin = '';
  try {
    builtin = fs.readFileSync(path.join(modRoot, 'modules.builtin'), 'utf8');
  } catch {
    // no list: every module must be a file
  }
  const builtinNames = new Set(builtin.split('\n').map((l) => path.basename(l).replace(/\.ko$/, '').replace(/-/g, '_')));
  // Copy (decompressing) each needed module and its dependencies, then order them deps-first.
  const deps = new Map<string, string[]>();
  const copied = new Map<string, string>();
  const visit = async (name: string): Promise<void> => {
    if (deps.has(name)) return;
    const src = files.get(name);
    if (!src) {
      if (builtinNames.has(name)) {
        deps.set(name, []);
        return;
      }
      throw new HmsdkError('ETOOL', `kernel ${release} has neither a module nor a built-in '${name}'`);
    }
    const dest = path.join(out, 'modules', `${name}.ko`);
    if (src.endsWith('.xz')) {
      fs.copyFileSync(src, `${dest}.xz`);
      const r = await runTool(requireTool('xz'), ['-d', '-f', `${dest}.xz`]);
      if (r.code !== 0) throw new HmsdkError('ETOOL', `xz -d ${path.basename(src)} failed: ${r.stderr.trim()}`);
    } else {
      fs.copyFileSync(src, dest);
    }
    const d = moduleDepends(fs.readFileSync(dest));
    deps.set(name, d);
    copied.set(name, dest);
    for (const dep of d) await visit(dep);
  };
  for (const name of SPECS[version].modules) await visit(name);
  const order: string[] = [];
  const place = (name: string): void => {
    if (order.includes(name)) return;
    for (const d of deps.get(name) ?? []) place(d);
    order.push(name);
  };
  for (const name of SPECS[version].modules) place(name);
  const modules: string[] = [];
  for (const name of order) {
    const src = copied.get(name);
    if (!src) continue; // built in
    const file = `${String(modules.length).padStart(2, '0')}-${name}.ko`;
    fs.renameSync(src, path.join(out, 'modules', file));
    modules.push(file);
  }
  return { release, modules };
}

/** Module names from the `depends=` field of a .ko's .modinfo section. */
export function moduleDepends(ko: Buffer): string[] {
  const at = ko.indexOf('\0depends=');
  if (at < 0) return [];
  const end = ko.indexOf(0, at + 1);
  const v = ko.subarray(at + '\0depends='.length, end < 0 ? undefined : end).toString('latin1');
  return v ? v.split(',').map((m) => m.replace(/-/g, '_')) : [];
}

function lastLines(s: string): string {
  return s.trim().split('\n').slice(-3).join(' | ');
}
