'use strict';
// Case 9: HMAT model, not measured. For every preset (presets/*.json) the
// policy engine's predicted aggregate bandwidth of DRAM only, plain 1:1
// interleave and the engine's own weights, and the gain over DRAM only.
//
// Topology source: built from each preset's own HMAT table, as seen from
// one initiator (each CPU node of the preset in turn): every memory node
// gets `access1` = the preset's figures for (initiator -> node), so the
// model sees exactly the preset's numbers (what the VM's firmware
// describes), not sysfs's reduced "best initiator" view. For the two
// presets that have a hand-written sysfs fixture tree
// (test/fixtures/sysfs/{cxl-expander,two-socket-cxl}) the same plan is also
// computed from readTopology({ sysRoot }) as a cross-check of the reader
// path (the fixture's figures are hand-written and need not match).
//
// The one case that reads internals (dist/policy, dist/emulate/preset): the
// pure policy engine's model and the emulator's preset loader are not part
// of the public API, and this case measures nothing at run time.
const fs = require('node:fs');
const path = require('node:path');
const { sig } = require('../lib/stats');

function presetTopology(preset, initiator) {
  const idx = new Map(preset.nodes.map((n, i) => [n.id, i]));
  const exmem = new Set(preset.expect.exmemNodes);
  const online = preset.nodes.filter((n) => !n.offline);
  const nodes = online
    .filter((n) => n.memMiB > 0)
    .map((pn) => {
      const e = preset.hmat.find((x) => x.initiator === initiator && x.target === pn.id);
      const perf = e
        ? {
            readBandwidth: e.readBandwidthMBps,
            writeBandwidth: e.writeBandwidthMBps,
            readLatency: e.readLatencyNs,
            writeLatency: e.writeLatencyNs ?? e.readLatencyNs,
            initiators: [initiator],
          }
        : undefined;
      const distances = {};
      for (const o of preset.nodes) {
        const d = preset.distances ? preset.distances[idx.get(pn.id)][idx.get(o.id)] : o.id === pn.id ? 10 : 20;
        distances[o.id] = d;
      }
      return {
        id: pn.id,
        cpus: pn.cpus,
        hasCpu: pn.cpus.length > 0,
        hasMemory: true,
        hasNormalMemory: pn.cpus.length > 0,
        memTotal: pn.memMiB * 2 ** 20,
        memFree: pn.memMiB * 2 ** 20,
        distances,
        access0: perf,
        access1: perf,
        tier: undefined,
        cxlEvidence: [],
        type: exmem.has(pn.id) ? 'EXMEM' : 'NORMAL',
        typeReason: 'bench: from preset expect',
      };
    });
  const ids = online.map((n) => n.id);
  return {
    sysRoot: `preset:${preset.name}`,
    possible: preset.nodes.map((n) => n.id),
    online: ids,
    nodes,
    normalNodes: nodes.filter((n) => n.type === 'NORMAL').map((n) => n.id),
    exmemNodes: nodes.filter((n) => n.type === 'EXMEM').map((n) => n.id),
    tiers: [],
    weightedInterleave: { available: true, weights: Object.fromEntries(nodes.map((n) => [n.id, 1])), auto: false },
    cxlDevices: [],
    exmemSource: 'cpuless',
    warnings: [],
  };
}

function planRow(policy, preset, source, topo, initiator) {
  const plan = policy.planInterleave(topo, { initiatorNodes: [initiator] });
  const p = plan.predicted;
  return {
    preset: preset.name,
    source,
    initiator,
    nodes: plan.nodes,
    weights: plan.weights,
    planSource: plan.source,
    model: plan.model,
    dramOnlyMBps: p ? sig(p.dramOnlyMBps ?? NaN, 6) : null,
    interleave11MBps: p ? sig(p.interleave11MBps, 6) : null,
    engineMBps: p ? sig(p.aggregateMBps, 6) : null,
    idealMBps: p ? sig(p.idealMBps, 6) : null,
    gainOverDramOnly: p && p.gainOverDramOnly !== undefined ? sig(p.gainOverDramOnly, 4) : null,
    interleave11VsDramOnly: p && p.dramOnlyMBps ? sig(p.interleave11MBps / p.dramOnlyMBps, 4) : null,
    latencyNs: p && p.latencyNs !== undefined ? sig(p.latencyNs, 4) : null,
    notes: [...plan.notes, ...plan.warnings].slice(0, 4),
  };
}

async function model(ctx) {
  const policy = require(path.join(ctx.root, 'dist', 'policy'));
  const { listPresetNames, loadPreset } = require(path.join(ctx.root, 'dist', 'emulate', 'preset'));
  const out = [];
  for (const name of listPresetNames()) {
    const preset = loadPreset(name);
    const initiators = preset.nodes.filter((n) => !n.offline && n.cpus.length > 0).map((n) => n.id);
    for (const i of initiators) out.push(planRow(policy, preset, 'preset HMAT', presetTopology(preset, i), i));
    const fixture = path.join(ctx.root, 'test', 'fixtures', 'sysfs', name);
    if (fs.existsSync(fixture)) {
      const topo = ctx.h.readTopology({ sysRoot: fixture });
      out.push(planRow(policy, preset, `fixture sysfs (test/fixtures/sysfs/${name})`, topo, initiators[0]));
    }
  }
  for (const r of out) {
    ctx.log(
      `[9] ${r.preset} (${r.source}, initiator ${r.initiator}): ` +
        (r.engineMBps === null
          ? `no bandwidth figures: ${r.planSource} weights ${r.weights.join(':')}, no prediction`
          : `DRAM only ${r.dramOnlyMBps}, 1:1 ${r.interleave11MBps}, engine ${r.weights.join(':')} on ${r.nodes.join(',')} ${r.engineMBps} MB/s (gain ${r.gainOverDramOnly}×)`),
    );
  }
  return out;
}

module.exports = { model, presetTopology };
