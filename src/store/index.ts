/**
 * Shared memory objects across processes and workers on a chosen tier (the
 * GISMO model): see docs/store.md.
 */
export { connect, Store, type ConnectOptions, type StoreEvent, type StoreObjectInfo, type StoreSubscription } from './client';
export type { ObjectState, StoreEventType } from './protocol';
