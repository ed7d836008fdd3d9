import type { CostReport, Units } from './cost-model';
import { table } from './table';

const COLUMNS: Array<[keyof Units, string]> = [
  ['wru', 'DynamoDB WRU'],
  ['rru', 'RRU'],
  ['eventBridgeEvents', 'EventBridge'],
  ['sqsFifoRequests', 'SQS FIFO'],
  ['sqsStandardRequests', 'SQS std'],
  ['s3Requests', 'S3'],
  ['lambdaRequests', 'Lambda req'],
  ['lambdaGbSeconds', 'GB-s'],
];

/** The cost table: US$ per million events by component and service, the units under it, the prices beside it. */
export function renderCost(cost: CostReport): string {
  const money = (n: number) => (n === 0 ? '-' : n < 0.01 ? n.toFixed(4) : n.toFixed(2));
  const count = (n: number) => (n === 0 ? '-' : n >= 100 ? String(Math.round(n)) : n.toFixed(2));
  const p = cost.prices;
  return [
    `5. Cost per million events, US$ (${p.region} list prices of ${p.date}, from ${p.source})`,
    table(
      ['component', ...COLUMNS.map(([, name]) => name), 'total $'],
      [
        ...cost.rows.map((r) => [
          r.component,
          ...COLUMNS.map(([key]) => money(r.dollars[key])),
          money(r.total),
        ]),
        ['pipeline with our relay', ...COLUMNS.map(() => ''), money(cost.pipelineTotal)],
        [
          'pipeline with the naive relay instead',
          ...COLUMNS.map(() => ''),
          money(cost.pipelineTotalWithNaiveRelay),
        ],
      ],
    ),
    '  Billed units per million events:',
    table(
      ['component', ...COLUMNS.map(([, name]) => name)],
      cost.rows.map((r) => [r.short, ...COLUMNS.map(([key]) => count(r.units[key]))]),
    ),
    ...cost.rows.map((r) => `  ${r.short}: ${r.basis}`),
    ...cost.rows
      .filter((r) => r.categories && Object.keys(r.categories).length > 0)
      .map(
        (r) =>
          `  ${r.short} DynamoDB by item, per million events: ${Object.entries(r.categories ?? {})
            .map(([name, c]) => `${name} ${c.wru} WRU${c.rru > 0 ? ` + ${c.rru} RRU` : ''}`)
            .join('; ')}`,
      ),
    `  Relay DynamoDB per event: ${cost.relayWruPerEvent} WRU + ${cost.relayRruPerEvent} RRU; the writer stores ${cost.writerRelayOnlyBytesPerEvent} bytes per event only for the relay (committedFrom), ${cost.writerRelayOnlyWruPerEvent} WRU; together ${cost.relayWruEquivalentPerEvent} WRU-equivalents (RRU at their price ratio).`,
    `  DynamoDB Local's own ConsumedCapacity, units per million events (cross-check; it agrees on single-item calls, counts transactional writes higher): ${Object.entries(
      cost.localReportedPerMillion,
    )
      .map(([name, units]) => `${name} ${units}`)
      .join(', ')}`,
    `  Prices: DynamoDB on-demand $${(p.dynamoDbWru * 1e6).toFixed(3)} per million WRU, $${(p.dynamoDbRru * 1e6).toFixed(3)} per million RRU; EventBridge custom events $${(p.eventBridgeEvent * 1e6).toFixed(2)} per million (64 KB chunks); SQS FIFO $${(p.sqsFifoRequest * 1e6).toFixed(2)} per million requests (64 KB chunks); Lambda $${(p.lambdaRequest * 1e6).toFixed(2)} per million requests, $${p.lambdaGbSecondArm} per GB-second arm64; not in the issue: SQS standard $${(p.sqsStandardRequest * 1e6).toFixed(2)} per million, S3 LIST $${(p.s3ListRequest * 1e3).toFixed(3)} per 1,000. DynamoDB Streams reads by Lambda are free.`,
    '  Not counted: storage (DynamoDB, S3), the EventBridge archive, CloudWatch logs and metrics, X-Ray, data transfer, the order API, idle SQS polling.',
  ].join('\n');
}
