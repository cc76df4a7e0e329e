/** broker: the message router and how to run one (`runBroker`). */
export { Broker } from './broker.js';
export { runBroker, startError, type BrokerRunOptions } from './run.js';
export { brokerLog } from './log.js';
