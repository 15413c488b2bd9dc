/**
 * Bandwidth-aware interleave policy engine (pure part): integer weights,
 * the min-link bandwidth model, the planner, userspace striping and the
 * system-wide weight files.
 */

export {
  reduceWeights,
  weightShares,
  shareError,
  gcdOf,
  KERNEL_AUTO_WEIGHTINESS,
  HMSDK_SOFT_MAX,
  EXACT_DEFAULT_MAX_SUM,
  EXACT_DEFAULT_TOLERANCE_PP,
  type WeightMethod,
  type ReduceWeightsOptions,
  type ReducedWeights,
} from './weights';
export {
  predictBandwidth,
  optimalSplit,
  splitLatency,
  linkBandwidth,
  linkBandwidthLabel,
  WORKLOADS,
  type Workload,
  type BandwidthPrediction,
  type ReadWriteFigures,
} from './model';
export { hmatLinkPerf, type LinkPerf } from './perf';
export { nodeReserve, availableBytes, capSplit, RESERVE_MIN_BYTES, RESERVE_DIVISOR, type CappedSplit } from './capacity';
export {
  planInterleave,
  LATENCY_WINDOW,
  type PlanOptions,
  type MeasuredBandwidth,
  type PlanPrediction,
  type InterleavePlan,
  type PlanBase,
  type OverridePlan,
  type MeasuredPlan,
  type HmatPlan,
  type UniformPlan,
} from './plan';
export {
  stripeSegments,
  stripeLayout,
  stripeShares,
  DEFAULT_MAX_STRIPE_BYTES,
  DEFAULT_MAX_SEGMENTS,
  DEFAULT_PAGE_SIZE,
  STRIPE_TARGET_ERROR_PP,
  type StripeOptions,
  type StripeSegment,
  type StripeShare,
} from './stripe';
export {
  systemWeightsPlan,
  applySystemWeights,
  kernelAutoWeights,
  weightedInterleaveDir,
  type SysfsWeightWrite,
  type SystemWeightsPlan,
  type SysfsIo,
  type ApplyOptions,
  type AppliedWrite,
  type ApplyResult,
} from './sysfs-weights';
export { KERNEL_MIN_WEIGHT, KERNEL_MAX_WEIGHT } from '../util/validate';
