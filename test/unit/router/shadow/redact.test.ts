import { describe, expect, it } from 'vitest';
import { redactHeaders, redactJson, redactPath, redactRules } from '../../../../router/src/shadow/redact.js';

const rules = redactRules();
const redacted = (key: string) =>
  (redactJson({ [key]: 'value' }, rules) as Record<string, unknown>)[key] === '[redacted]';

describe('redactHeaders', () => {
  it('redacts credentials, parsed or as a flat list, and leaves other headers alone', () => {
    expect(
      redactHeaders(
        {
          Authorization: 'Bearer abc',
          cookie: 'sid=1',
          'set-cookie': ['a=1', 'b=2'],
          'x-api-key': 'k',
          'content-type': 'application/json',
          'x-request-id': 'r1',
          missing: undefined,
        },
        rules,
      ),
    ).toEqual({
      authorization: '[redacted]',
      cookie: '[redacted]',
      'set-cookie': '[redacted]',
      'x-api-key': '[redacted]',
      'content-type': 'application/json',
      'x-request-id': 'r1',
    });
    expect(
      redactHeaders(['Cookie', 'a=1', 'Accept', 'text/html', 'Accept', 'application/json', 'Set-Cookie', 'b=2'], rules),
    ).toEqual({ cookie: '[redacted]', accept: 'text/html, application/json', 'set-cookie': '[redacted]' });
  });

  it('redacts the extra headers a route names', () => {
    expect(redactHeaders({ 'X-Session': 's', accept: '*/*' }, redactRules({ headers: ['X-Session'] }))).toEqual({
      'x-session': '[redacted]',
      accept: '*/*',
    });
  });
});

describe('redactJson', () => {
  it('redacts password-, token-, key- and card-like fields at any depth, arrays included', () => {
    const body = {
      user: { email: 'a@example.com', password: 'hunter2', profile: { api_key: 'k1' } },
      tokens: [{ token: 't1', scope: 'read' }],
      payment: { card_number: '4242424242424242', cvv: '123', amountCents: 500 },
      apiKey: 'k2',
      'refresh-token': 'r',
      ACCESS_TOKEN: 'a',
    };
    expect(redactJson(body, rules)).toEqual({
      user: { email: 'a@example.com', password: '[redacted]', profile: { api_key: '[redacted]' } },
      tokens: [{ token: '[redacted]', scope: 'read' }],
      payment: { card_number: '[redacted]', cvv: '[redacted]', amountCents: 500 },
      apiKey: '[redacted]',
      'refresh-token': '[redacted]',
      ACCESS_TOKEN: '[redacted]',
    });
  });

  it('matches whole `-` or `_` separated parts only, so ordinary fields containing the words stay', () => {
    for (const key of ['password', 'Password', 'pass', 'secret', 'client_secret', 'token', 'access_token', 'pan'])
      expect(redacted(key), key).toBe(true);
    for (const key of ['passenger', 'tokenizer_version', 'company', 'japan', 'span', 'passport_country', 'keyword'])
      expect(redacted(key), key).toBe(false);
  });

  it('matches the parts of camelCase names too', () => {
    for (const key of ['accessToken', 'refreshToken', 'clientSecret', 'newPassword', 'cardNumber', 'userApiKey'])
      expect(redacted(key), key).toBe(true);
    for (const key of ['passengerName', 'tokenizerVersion', 'companyName', 'spanId'])
      expect(redacted(key), key).toBe(false);
  });

  it('redacts a card number held as `number` under `card`, as the payments API sends it', () => {
    expect(redactJson({ card: { number: '4242424242424242', expiry: '12/30' }, number: 3 }, rules)).toEqual({
      card: { number: '[redacted]', expiry: '12/30' },
      number: 3,
    });
  });

  it('redacts the extra fields a route names, as literal names', () => {
    const extra = redactRules({ fields: ['ssn', 'date.of.birth'] });
    expect(redactJson({ ssn: '1', user_ssn: '2', 'date.of.birth': 'x', dateXofXbirth: 'y' }, extra)).toEqual({
      ssn: '[redacted]',
      user_ssn: '[redacted]',
      'date.of.birth': '[redacted]',
      dateXofXbirth: 'y',
    });
  });
});

describe('redactPath', () => {
  it('tells which difference paths hold a redacted field', () => {
    expect(redactPath('$.user.password', rules)).toBe(true);
    expect(redactPath('$.sessions[3].accessToken', rules)).toBe(true);
    expect(redactPath('$.card.number', rules)).toBe(true);
    expect(redactPath('$.items[2].price', rules)).toBe(false);
    expect(redactPath('$.passenger.name', rules)).toBe(false);
  });
});
