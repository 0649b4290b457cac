import { SSEParser } from '../sse';

describe('SSEParser', () => {
  it('reads messages split anywhere across chunks, as sse-starlette sends them', () => {
    const parser = new SSEParser();
    const stream = 'id: 7\r\nevent: job\r\ndata: {"a":1}\r\n\r\n: ping - 2026\r\n\r\nid: 8\r\nevent: log\r\ndata: x\r\ndata: y\r\n\r\n';
    const seen = [];
    for (let i = 0; i < stream.length; i += 5) {
      seen.push(...parser.feed(stream.slice(i, i + 5)));
    }
    expect(seen).toEqual([
      { id: '7', event: 'job', data: '{"a":1}' },
      { id: '8', event: 'log', data: 'x\ny' }
    ]);
    expect(parser.lastEventId).toBe('8');
  });

  it('names an unnamed message `message` and keeps the last id for Last-Event-ID', () => {
    const parser = new SSEParser();
    expect(parser.feed('data:no space\n\n')).toEqual([{ id: null, event: 'message', data: 'no space' }]);
    expect(parser.lastEventId).toBeNull();
    parser.feed('id: 3\n\n');
    expect(parser.lastEventId).toBe('3');
  });
});
