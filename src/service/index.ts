/**
 * service: the contract between the broker and the modules it hosts
 * (handlers, contexts, the DEFERRED marker). Modules depend on this, never on
 * the broker itself.
 */
export * from './module.js';
export * from './dirs.js';
export * from './install.js';
