/**
 * protocol: the wire format shared by brokers, modules, executors and clients:
 * message types, framing and codec, connections, instance URIs.
 */
export * from './message.js';
export { encodeFrame, FrameDecoder, FORBIDDEN_KEYS, type FrameDecoderOptions, type RefusedMessage } from './codec.js';
export { MAX_FRAME, DEFAULT_MAX_FRAME, PREAUTH_MAX_FRAME, setFrameLimits, defaultMaxFrame, parseSize, formatSize } from './limits.js';
export { Connection, dial } from './connection.js';
export { parseUri, localUri, type UriTarget } from './uri.js';
export { loadOverlayTls, dialTls, tlsServerOptions, TLS_FILES, type OverlayTls } from './tls.js';
export { RpcPeer, PendingCalls, type PendingCall, type RpcStreamHandler } from './rpc.js';
export * from './services.js';
