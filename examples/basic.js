// Quick tour: place buffers by tier and node, see where the kernel put them,
// account, free. Run: node examples/basic.js   (after npm install)
// On a machine without EXMEM (CXL) memory the EXMEM request falls back to
// DRAM explicitly; inside `hmsdk emulate` it lands on the CPU-less node.
'use strict';
const hm = require('..');

const MiB = 2 ** 20;
const t = hm.readTopology();
console.log(`memory nodes: ${t.nodes.map((n) => `${n.id}:${n.type}`).join(' ')}`);

// 64 MiB on CXL memory if there is any (strict), else DRAM because we said so.
const kv = hm.allocate(64 * MiB, { tier: 'EXMEM', fallback: 'normal', populate: true });
console.log('kv cache pages per node (move_pages):', hm.where(kv).nodes);

// SMDK style
const small = hm.s_malloc(hm.SMDK_MEM_NORMAL, 4096);
small.write('hello from node ' + t.normalNodes[0]);
console.log(small.toString('utf8', 0, 17), '| used NORMAL:', hm.s_get_memsize_used('NORMAL'), 'bytes');

// typed arrays
const weights = hm.allocateTyped(Float32Array, 1 << 20, { node: t.normalNodes[0] });
weights.fill(0.5);
console.log('sum of weights:', weights.reduce((a, b) => a + b, 0));

hm.s_stats_print('M');
hm.free(weights);
hm.s_free(small);
hm.free(kv);
console.log('after free: kv.length =', kv.length, '| live allocations:', hm.stats().sdk.liveAllocations);
