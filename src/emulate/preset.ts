/**
 * Topology presets for the emulator: plain JSON files (shipped in
 * `presets/`) describing the NUMA nodes, SLIT distances and ACPI HMAT figures
 * of a virtual machine, plus what the SDK's topology reader must find there.
 *
 * A preset is validated field by field here, before QEMU ever sees it, so a
 * typo gives one `ECONFIG` line naming the field instead of a QEMU error.
 * CPU lists are normalised: a count becomes the next free vCPU indices, and
 * the union of all CPUs must be exactly 0..N-1 (QEMU wants every vCPU in a
 * node). Distances, when given, are a full matrix in the order of `nodes`.
 *
 * QEMU 7.2 refuses gaps in node ids ("numa: Node ID missing: 1"), and Linux
 * numbers ACPI proximity domains densely anyway; holes in the guest's
 * `online` node list come from `offline` nodes instead (see PresetNode).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HmsdkError } from '../errors';

/** One NUMA node of a preset, CPU list normalised. */
export interface PresetNode {
  /** QEMU/Linux node id. */
  id: number;
  /** vCPU indices of the node (empty: CPU-less). */
  cpus: number[];
  /** Memory of the node, MiB. */
  memMiB: number;
  /** Node whose CPUs are this node's initiator (itself for nodes with CPUs). */
  initiator: number;
  /**
   * A socket that is possible but not present at boot: its CPUs are
   * hot-pluggable (QEMU `maxcpus`) and it has no memory, so Linux lists the
   * node in `possible` but not in `online`. This is how node ids get holes.
   */
  offline: boolean;
}

/** One HMAT entry (memory hierarchy): performance of `target` seen from `initiator`. */
export interface HmatEntry {
  /** Initiator node id (a node with CPUs). */
  initiator: number;
  /** Target node id. */
  target: number;
  /** Read latency, ns (also the write latency when `writeLatencyNs` is absent). */
  readLatencyNs: number;
  /** Write latency, ns. */
  writeLatencyNs?: number;
  /** Read bandwidth in MB/s as sysfs prints it (QEMU units of 2^20 bytes/s). */
  readBandwidthMBps: number;
  /** Write bandwidth, MB/s. */
  writeBandwidthMBps?: number;
}

/** What the SDK's topology reader must find in the VM. */
export interface PresetExpect {
  /** Ids of DRAM (NORMAL) nodes. */
  normalNodes: number[];
  /** Ids of expander (EXMEM) nodes. */
  exmemNodes: number[];
  /** Ids of nodes without CPUs. */
  cpulessNodes: number[];
}

/** A validated preset. */
export interface Preset {
  /** Short name (file name without `.json` for shipped presets). */
  name: string;
  /** One-sentence description. */
  description: string;
  /** Nodes, in file order. */
  nodes: PresetNode[];
  /** SLIT matrix in `nodes` order, or undefined for QEMU's default (10 local / 20 remote). */
  distances: number[][] | undefined;
  /** HMAT entries. */
  hmat: HmatEntry[];
  /** Expected classification. */
  expect: PresetExpect;
  /** Absolute path of the JSON file the preset came from. */
  file: string;
}

/** Most vCPUs a preset may ask for: TCG on a small host gets slow beyond this. */
export const MAX_VCPUS = 4;
/** Most memory a preset may ask for, MiB. */
export const MAX_TOTAL_MIB = 8192;

/** Directory of the shipped presets (`<package>/presets`). */
export function presetsDir(): string {
  return path.resolve(__dirname, '..', '..', 'presets');
}

/** Names of the shipped presets, sorted. */
export function listPresetNames(): string[] {
  return fs
    .readdirSync(presetsDir())
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -'.json'.length))
    .sort();
}

/**
 * Load a preset by shipped NAME (e.g. `cxl-expander`) or by FILE path (anything
 * containing a `/` or ending in `.json`). Throws `ECONFIG` when it does not
 * exist, is not JSON, or fails validation.
 */
export function loadPreset(nameOrFile: string): Preset {
  const isFile = nameOrFile.includes('/') || nameOrFile.endsWith('.json');
  const file = isFile ? path.resolve(nameOrFile) : path.join(presetsDir(), `${nameOrFile}.json`);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    if (isFile) throw new HmsdkError('ECONFIG', `preset file ${file} cannot be read`);
    throw new HmsdkError('ECONFIG', `unknown topology preset '${nameOrFile}' (known: ${listPresetNames().join(', ')}; or give a .json file path)`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new HmsdkError('ECONFIG', `preset ${file}: not valid JSON (${(e as Error).message})`);
  }
  return validatePreset(data, file);
}

type Obj = Record<string, unknown>;

/**
 * Validate parsed preset JSON. `file` names the source in messages and is
 * stored (absolute) in the result. Throws `ECONFIG` naming the bad field.
 */
export function validatePreset(data: unknown, file: string): Preset {
  const where = `preset ${file}`;
  const fail = (field: string, what: string, got?: unknown): never => {
    const shown = got === undefined ? '' : ` (got ${JSON.stringify(got)})`;
    throw new HmsdkError('ECONFIG', `${where}: ${field} ${what}${shown}`);
  };
  const int = (v: unknown, field: string, min: number, max = Number.MAX_SAFE_INTEGER): number => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) fail(field, `must be an integer in ${min}..${max}`, v);
    return v as number;
  };
  const obj = (v: unknown, field: string): Obj => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(field, 'must be an object', v);
    return v as Obj;
  };
  const arr = (v: unknown, field: string): unknown[] => {
    if (!Array.isArray(v)) fail(field, 'must be an array', v);
    return v as unknown[];
  };
  const str = (v: unknown, field: string): string => {
    if (typeof v !== 'string' || v.trim() === '') fail(field, 'must be a non-empty string', v);
    return v as string;
  };
  const noExtra = (o: Obj, field: string, allowed: string[]): void => {
    for (const k of Object.keys(o)) if (!allowed.includes(k)) fail(`${field}.${k}`, `is not a known field (known: ${allowed.join(', ')})`);
  };

  const root = obj(data, '(top level)');
  noExtra(root, '(top level)', ['$schema', 'name', 'description', 'nodes', 'distances', 'hmat', 'expect']);
  const name = str(root.name, 'name');
  if (!/^[a-z0-9][a-z0-9-]*$/.test(name)) fail('name', 'must be lowercase letters, digits and dashes', name);
  const description = str(root.description, 'description');

  // Nodes.
  const rawNodes = arr(root.nodes, 'nodes');
  if (rawNodes.length === 0) fail('nodes', 'must list at least one node');
  const ids = new Set<number>();
  const pending: { id: number; cpus: number[] | number; memMiB: number; initiator: number; offline: boolean }[] = [];
  rawNodes.forEach((rn, i) => {
    const f = `nodes[${i}]`;
    const n = obj(rn, f);
    noExtra(n, f, ['id', 'cpus', 'memMiB', 'initiator', 'offline']);
    if (n.offline !== undefined && typeof n.offline !== 'boolean') fail(`${f}.offline`, 'must be true or false', n.offline);
    const offline = n.offline === true;
    const id = int(n.id, `${f}.id`, 0, 63);
    if (ids.has(id)) fail(`${f}.id`, 'is a duplicate node id', id);
    ids.add(id);
    let cpus: number[] | number;
    if (typeof n.cpus === 'number') cpus = int(n.cpus, `${f}.cpus`, 0, MAX_VCPUS);
    else cpus = arr(n.cpus, `${f}.cpus`).map((c, j) => int(c, `${f}.cpus[${j}]`, 0, MAX_VCPUS - 1));
    const memMiB = offline ? int(n.memMiB ?? 0, `${f}.memMiB`, 0, 0) : int(n.memMiB, `${f}.memMiB`, 64, MAX_TOTAL_MIB);
    const initiator = int(n.initiator, `${f}.initiator`, 0, 63);
    if (offline && (typeof cpus === 'number' ? cpus : cpus.length) === 0) fail(`${f}.cpus`, 'must not be empty for an offline node (its CPUs are the hot-pluggable ones)');
    pending.push({ id, cpus, memMiB, initiator, offline });
  });
  const taken = new Set<number>();
  for (const [i, p] of pending.entries()) {
    if (Array.isArray(p.cpus)) for (const c of p.cpus) {
      if (taken.has(c)) fail(`nodes[${i}].cpus`, `names vCPU ${c} twice`);
      taken.add(c);
    }
  }
  let next = 0;
  const nodes: PresetNode[] = pending.map((p) => {
    let cpus: number[];
    if (Array.isArray(p.cpus)) cpus = [...p.cpus].sort((a, b) => a - b);
    else {
      cpus = [];
      for (let k = 0; k < p.cpus; k++) {
        while (taken.has(next)) next++;
        taken.add(next);
        cpus.push(next);
      }
    }
    return { id: p.id, cpus, memMiB: p.memMiB, initiator: p.initiator, offline: p.offline };
  });
  const allCpus = nodes.flatMap((n) => n.cpus).sort((a, b) => a - b);
  if (allCpus.length > MAX_VCPUS) fail('nodes', `ask for ${allCpus.length} vCPUs; at most ${MAX_VCPUS} (TCG emulation on a small host)`);
  allCpus.forEach((c, k) => {
    if (c !== k) fail('nodes[].cpus', `must together be vCPUs 0..${allCpus.length - 1} without gaps`, allCpus);
  });
  const presentCpus = nodes.filter((n) => !n.offline).flatMap((n) => n.cpus);
  if (presentCpus.length === 0) fail('nodes', 'must give at least one online node some CPUs');
  if (presentCpus.some((c) => c >= presentCpus.length)) fail('nodes[].cpus', `of offline nodes must be the highest vCPU indices (QEMU hot-plugs vCPUs ${presentCpus.length} and up)`);
  const totalMiB = nodes.reduce((s, n) => s + n.memMiB, 0);
  if (totalMiB > MAX_TOTAL_MIB) fail('nodes[].memMiB', `add up to ${totalMiB} MiB; at most ${MAX_TOTAL_MIB}`);
  const byId = new Map(nodes.map((n) => [n.id, n]));
  nodes.forEach((n, i) => {
    const init = byId.get(n.initiator);
    if (!init) fail(`nodes[${i}].initiator`, 'must be the id of a node in this preset', n.initiator);
    if (init!.offline && !n.offline) fail(`nodes[${i}].initiator`, `must not be an offline node (${n.initiator})`, n.initiator);
    if (init!.cpus.length === 0) fail(`nodes[${i}].initiator`, `must name a node with CPUs (node ${n.initiator} has none)`, n.initiator);
    if (n.cpus.length > 0 && n.initiator !== n.id) fail(`nodes[${i}].initiator`, `must be the node itself (${n.id}) for a node with CPUs`, n.initiator);
  });

  // Distances.
  let distances: number[][] | undefined;
  if (root.distances !== undefined) {
    const rows = arr(root.distances, 'distances');
    if (rows.length !== nodes.length) fail('distances', `must be a ${nodes.length}x${nodes.length} matrix in the order of nodes`);
    distances = rows.map((r, i) => {
      const row = arr(r, `distances[${i}]`);
      if (row.length !== nodes.length) fail(`distances[${i}]`, `must have ${nodes.length} entries`, row);
      return row.map((v, j) => {
        const d = int(v, `distances[${i}][${j}]`, 10, 254);
        if (i === j && d !== 10) fail(`distances[${i}][${j}]`, 'must be 10 (local distance)', d);
        if (i !== j && d === 10) fail(`distances[${i}][${j}]`, 'must be greater than 10 (remote distance)', d);
        return d;
      });
    });
  }

  // HMAT.
  const hmat: HmatEntry[] = arr(root.hmat ?? [], 'hmat').map((re, i) => {
    const f = `hmat[${i}]`;
    const e = obj(re, f);
    noExtra(e, f, ['initiator', 'target', 'readLatencyNs', 'writeLatencyNs', 'readBandwidthMBps', 'writeBandwidthMBps']);
    const initiator = int(e.initiator, `${f}.initiator`, 0, 63);
    const target = int(e.target, `${f}.target`, 0, 63);
    const initNode = byId.get(initiator);
    if (!initNode || initNode.cpus.length === 0) fail(`${f}.initiator`, 'must be the id of a node with CPUs', initiator);
    if (!byId.has(target) || byId.get(target)!.offline) fail(`${f}.target`, 'must be the id of an online node in this preset', target);
    const entry: HmatEntry = {
      initiator,
      target,
      readLatencyNs: int(e.readLatencyNs, `${f}.readLatencyNs`, 1, 65535),
      readBandwidthMBps: int(e.readBandwidthMBps, `${f}.readBandwidthMBps`, 1, 1 << 30),
    };
    if (e.writeLatencyNs !== undefined) entry.writeLatencyNs = int(e.writeLatencyNs, `${f}.writeLatencyNs`, 1, 65535);
    if (e.writeBandwidthMBps !== undefined) entry.writeBandwidthMBps = int(e.writeBandwidthMBps, `${f}.writeBandwidthMBps`, 1, 1 << 30);
    return entry;
  });
  if (hmat.length > 0 && nodes.some((n) => n.offline)) {
    fail('hmat', 'must be empty when a node is offline (QEMU 7.2 then builds an HMAT that Linux rejects as "Invalid table")');
  }
  const pairs = new Set<string>();
  hmat.forEach((h, i) => {
    const key = `${h.initiator}->${h.target}`;
    if (pairs.has(key)) fail(`hmat[${i}]`, `repeats initiator ${h.initiator} / target ${h.target}`);
    pairs.add(key);
  });
  // QEMU builds one table per data type: either every entry gives write figures or none does.
  for (const k of ['writeLatencyNs', 'writeBandwidthMBps'] as const) {
    const n = hmat.filter((h) => h[k] !== undefined).length;
    if (n !== 0 && n !== hmat.length) fail(`hmat[].${k}`, 'must be given in every entry or in none');
  }

  // Expectations.
  const ex = obj(root.expect, 'expect');
  noExtra(ex, 'expect', ['normalNodes', 'exmemNodes', 'cpulessNodes']);
  const idList = (k: keyof PresetExpect): number[] =>
    arr(ex[k], `expect.${k}`).map((v, j) => {
      const id = int(v, `expect.${k}[${j}]`, 0, 63);
      if (!byId.has(id) || byId.get(id)!.offline) fail(`expect.${k}[${j}]`, 'is not an online node of this preset', id);
      return id;
    }).sort((a, b) => a - b);
  const expect: PresetExpect = { normalNodes: idList('normalNodes'), exmemNodes: idList('exmemNodes'), cpulessNodes: idList('cpulessNodes') };
  const online = nodes.filter((n) => !n.offline);
  const realCpuless = online.filter((n) => n.cpus.length === 0).map((n) => n.id).sort((a, b) => a - b);
  if (realCpuless.join() !== expect.cpulessNodes.join()) fail('expect.cpulessNodes', `must be the nodes without CPUs [${realCpuless.join(', ')}]`, expect.cpulessNodes);
  const classified = [...expect.normalNodes, ...expect.exmemNodes].sort((a, b) => a - b);
  const allIds = online.map((n) => n.id).sort((a, b) => a - b);
  if (classified.join() !== allIds.join()) fail('expect', `normalNodes and exmemNodes must split the online node ids [${allIds.join(', ')}] between them`);

  return { name, description, nodes, distances, hmat, expect, file: path.resolve(file) };
}
