/**
 * Child process of the relay benchmarks: runs fauxqs (SQS and S3) and the EventBridge
 * emulator on 127.0.0.1, so that the engines' work does not run on the event
 * loop of the relay being measured (on AWS it runs on the services' machines).
 * Talks to the parent over IPC: sends `ready` with the endpoints, answers
 * `counters`, installs rules on `putRule`, stops on `stop` or when the parent goes away.
 */
import { LOCAL_ACCOUNT, LOCAL_REGION, startEventBusEmulator, startSqsEmulator } from 'local-aws';

/** A rule for the emulator's bus (the emulator's `LocalRule`), its targets resolved to local queue URLs. */
export type HostRule = Parameters<Awaited<ReturnType<typeof startEventBusEmulator>>['putRule']>[0];

/** Messages from the parent. */
export type EngineHostRequest =
  | { readonly type: 'counters' }
  | { readonly type: 'putRule'; readonly rule: HostRule }
  | { readonly type: 'stop' };

/** Messages to the parent. */
export type EngineHostMessage =
  | { readonly type: 'ready'; readonly sqsEndpoint: string; readonly eventBridgeEndpoint: string }
  | { readonly type: 'counters'; readonly putEventsRequests: number }
  | { readonly type: 'ruleAdded' };

const [busName] = process.argv.slice(2);
const send = (message: EngineHostMessage) => process.send?.(message);

const sqs = await startSqsEmulator();
const bus = await startEventBusEmulator({
  region: LOCAL_REGION,
  accountId: LOCAL_ACCOUNT,
  sqs: { endpoint: sqs.endpoint },
});
if (busName) bus.createEventBus(busName);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await bus.stop().catch(() => undefined);
  await sqs.stop().catch(() => undefined);
  process.exit(0);
};
process.on('message', (request: EngineHostRequest) => {
  if (request.type === 'counters') send({ type: 'counters', putEventsRequests: bus.counters.requests });
  else if (request.type === 'putRule') {
    bus.putRule(request.rule);
    send({ type: 'ruleAdded' });
  } else if (request.type === 'stop') void stop();
});
// The parent died or closed the channel: nothing will ever stop us otherwise.
process.on('disconnect', () => void stop());
// Ctrl-C reaches the whole process group; the parent stops us in order, after its last request.
process.on('SIGINT', () => {});
send({ type: 'ready', sqsEndpoint: sqs.endpoint, eventBridgeEndpoint: bus.endpoint });
