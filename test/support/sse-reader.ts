// Reads Server-Sent Events off a response body, as an EventSource parses them: for the tests of
// the change stream (the runtimes' plain-JS checks in test/runtimes/ keep a small reader of their own).
export interface ServerSentEvent {
  id?: string;
  event: string;
  data?: any;
}

/** Reads Server-Sent Events off a response body, as an EventSource parses them. */
export function sseReader(body: ReadableStream<Uint8Array>) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  const queue: ServerSentEvent[] = [];
  let ended = false;
  const pump = async (): Promise<void> => {
    const { done, value } = await reader.read();
    if (done) {
      ended = true;
      return;
    }
    buffer += decoder.decode(value, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) !== -1) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event: ServerSentEvent = { event: 'message' };
      let data: string | undefined;
      for (const line of block.split('\n')) {
        if (line.startsWith(':') || line.startsWith('retry:')) continue;
        const [field, ...rest] = line.split(': ');
        const value = rest.join(': ');
        if (field === 'id') event.id = value;
        if (field === 'event') event.event = value;
        if (field === 'data') data = value;
      }
      if (data !== undefined) queue.push({ ...event, data: JSON.parse(data) });
    }
  };
  return {
    /** The next event, or undefined when the stream ended. */
    async next(): Promise<ServerSentEvent | undefined> {
      while (queue.length === 0 && !ended) await pump();
      return queue.shift();
    },
    cancel: () => reader.cancel(),
  };
}
