import { describe, expect, it } from 'vitest';
import { between, reportRequests, tallyRequests } from '../../bench/api-requests.ts';

const exposition = (puts: number, events: number, conflicts: number, issued: number) =>
  [
    '# HELP trustline_kube_api_requests_total Requests sent to the Kubernetes API.',
    '# TYPE trustline_kube_api_requests_total counter',
    `trustline_kube_api_requests_total{verb="PUT",resource="secrets",code="2xx"} ${puts}`,
    `trustline_kube_api_requests_total{verb="PUT",resource="secrets",code="4xx"} ${conflicts}`,
    `trustline_kube_api_requests_total{verb="PATCH",resource="registrationentries/status",code="2xx"} ${puts}`,
    `trustline_kube_api_requests_total{verb="POST",resource="events",code="2xx"} ${events}`,
    `trustline_svids_issued_total{type="x509",reason="Initial"} ${issued}`,
    `trustline_svids_issued_total{type="jwt",reason="Initial"} 1`,
  ].join('\n');

describe("the bench's count of the operator's API requests", () => {
  it('sums the code classes of each verb and resource, and keeps the failed ones apart', () => {
    const tally = tallyRequests(exposition(10, 4, 2, 9));
    expect(tally.requests).toEqual(
      new Map([
        ['PUT secrets', 12],
        ['PATCH registrationentries/status', 10],
        ['POST events', 4],
      ]),
    );
    expect(tally.failed).toEqual(new Map([['PUT secrets 4xx', 2]]));
    expect(tally.svidsIssued).toBe(10);
  });

  it('counts what was sent between two scrapes, dropping kinds that did not move', () => {
    const sent = between(tallyRequests(exposition(10, 4, 2, 9)), tallyRequests(exposition(30, 24, 2, 29)));
    expect(sent.requests).toEqual(
      new Map([
        ['PUT secrets', 20],
        ['PATCH registrationentries/status', 20],
        ['POST events', 20],
      ]),
    );
    expect(sent.failed.size).toBe(0);
    expect(sent.svidsIssued).toBe(20);
  });

  it('reports requests per issued SVID with Events on a line of their own, and the rate', () => {
    const sent = between(tallyRequests(exposition(0, 0, 0, 0)), tallyRequests(exposition(20, 20, 1, 20)));
    expect(reportRequests('the burst', sent, { requests: 50, ms: 2_000 })).toEqual([
      'operator API requests over the burst: 61 for 20 SVIDs issued; 50 until the last Secret was ready, 25 requests/s',
      '  per issued SVID: PUT secrets 1.05, PATCH registrationentries/status 1.00',
      '  Events per issued SVID: POST events 1.00',
      '  answered other than 2xx: PUT secrets 4xx 1',
    ]);
  });
});
