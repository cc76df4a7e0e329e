/**
 * Bootstrap: how the brokers of an instance that spans hosts find their
 * rank, size and each other (static: a TOML file, see config.ts).
 */
export { loadBootstrap, parseBootstrap, rankOf, parentRank, listenUri, type Bootstrap, type BootstrapHost } from './config.js';
