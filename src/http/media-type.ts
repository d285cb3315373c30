/**
 * Why a `Content-Type` is not JSON, or undefined when it is: `application/json` or any
 * `application/*+json`, in UTF-8 (the only charset JSON has, RFC 8259 §8.1).
 */
export function notJsonBecause(contentType: string | null): string | undefined {
  if (contentType === null || contentType.trim() === '') return 'the request has no Content-Type';
  const [essence = '', ...parameters] = contentType.split(';').map((part) => part.trim().toLowerCase());
  if (essence !== 'application/json' && !/^application\/[a-z0-9.+-]+\+json$/.test(essence)) {
    return `the Content-Type is ${JSON.stringify(essence)}`;
  }
  for (const parameter of parameters) {
    const [name, value = ''] = parameter.split('=').map((part) => part.trim());
    if (name === 'charset' && value.replace(/^"|"$/g, '') !== 'utf-8' && value.replace(/^"|"$/g, '') !== 'utf8') {
      return `the charset is ${JSON.stringify(value)}`;
    }
  }
  return undefined;
}
