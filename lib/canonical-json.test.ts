import { describe, expect, it } from 'vitest';
import { canonicalHash, canonicalJson, parseJsonStrict } from './canonical-json.ts';
import { sha256Hex } from './hash.ts';

/** Builds a double from its IEEE 754 bit pattern in hex (as RFC 8785 Appendix B lists them). */
function fromHex(hex: string): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, BigInt(`0x${hex}`));
  return view.getFloat64(0);
}

describe('canonicalJson (RFC 8785)', () => {
  it('serialises the §3.2.2 sample input as §3.2.3 prints it', () => {
    // RFC 8785 §3.2.2 input; the JSON text is parsed first, exactly as a verifier would receive it.
    const input = JSON.parse(String.raw`{
      "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
      "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
      "literals": [null, true, false]
    }`);
    // RFC 8785 §3.2.3, the canonical output (shown there as UTF-8 text).
    const expected = String.raw`{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`;
    expect(canonicalJson(input)).toBe(expected);
  });

  it('sorts property names by UTF-16 code units (RFC 8785 §3.2.3 sorting example)', () => {
    const input = JSON.parse(String.raw`{
      "\u20ac": "Euro Sign",
      "\r": "Carriage Return",
      "\ufb33": "Hebrew Letter Dalet With Dagesh",
      "1": "One",
      "\ud83d\ude00": "Emoji: Grinning Face",
      "\u0080": "Control",
      "\u00f6": "Latin Small Letter O With Diaeresis"
    }`) as Record<string, string>;
    // The order RFC 8785 §3.2.3 prints: \r, 1, U+0080, ö, €, 😀 (a surrogate pair, 0xD83D), U+FB33.
    const expected =
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis",' +
      '"\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}';
    expect(canonicalJson(input)).toBe(expected);
  });

  it('serialises numbers as RFC 8785 Appendix B lists them', () => {
    // RFC 8785 Appendix B, "Number Serialization Samples" (IEEE 754 hex → expected JSON).
    const samples: Array<[string, string]> = [
      ['0000000000000000', '0'],
      ['8000000000000000', '0'],
      ['0000000000000001', '5e-324'],
      ['8000000000000001', '-5e-324'],
      ['7fefffffffffffff', '1.7976931348623157e+308'],
      ['ffefffffffffffff', '-1.7976931348623157e+308'],
      ['4340000000000000', '9007199254740992'],
      ['c340000000000000', '-9007199254740992'],
      ['4430000000000000', '295147905179352830000'],
      ['44b52d02c7e14af5', '9.999999999999997e+22'],
      ['44b52d02c7e14af6', '1e+23'],
      ['44b52d02c7e14af7', '1.0000000000000001e+23'],
      ['444b1ae4d6e2ef4e', '999999999999999700000'],
      ['444b1ae4d6e2ef4f', '999999999999999900000'],
      ['444b1ae4d6e2ef50', '1e+21'],
      ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
      ['3eb0c6f7a0b5ed8d', '0.000001'],
      ['41b3de4355555553', '333333333.3333332'],
      ['41b3de4355555554', '333333333.33333325'],
      ['41b3de4355555555', '333333333.3333333'],
      ['41b3de4355555556', '333333333.3333334'],
      ['41b3de4355555557', '333333333.33333343'],
      ['becbf647612f3696', '-0.0000033333333333333333'],
      ['43143ff3c1cb0959', '1424953923781206.2'],
    ];
    for (const [hex, expected] of samples) expect(canonicalJson(fromHex(hex)), hex).toBe(expected);
  });

  it('refuses NaN and Infinity (RFC 8785 Appendix B: "must cause an error") and undefined', () => {
    expect(() => canonicalJson(fromHex('7fffffffffffffff'))).toThrow(/NaN/);
    expect(() => canonicalJson(fromHex('7ff0000000000000'))).toThrow(/Infinity/);
    expect(() => canonicalJson(undefined)).toThrow(/no JSON form/);
    expect(() => canonicalJson({ a: 1n })).toThrow(/canonicalised/);
  });

  it('hashes the canonical bytes, so member order and whitespace do not change the hash', () => {
    const a = canonicalHash(JSON.parse('{"b": [1, 2.0], "a": {"y": null, "x": "é"}}'));
    const b = canonicalHash({ a: { x: 'é', y: null }, b: [1, 2] });
    expect(a).toBe(b);
    expect(a).toBe(sha256Hex('{"a":{"x":"é","y":null},"b":[1,2]}'));
    expect(canonicalHash({ a: 1 })).not.toBe(canonicalHash({ a: 2 }));
  });
});

describe('canonicalJson refuses what has no single byte form (issue 13)', () => {
  it('refuses lone surrogates in values and member names, accepts paired ones', () => {
    expect(() => canonicalJson({ a: 'x\uD800y' })).toThrow(/\$\.a holds a lone UTF-16 surrogate/);
    expect(() => canonicalJson({ a: ['ok', '\uDC00'] })).toThrow(/\$\.a\[1\]/);
    expect(() => canonicalJson({ ['\uD83D']: 1 })).toThrow(/member name/);
    // Without the check, both would hash alike: Buffer.from maps every lone surrogate to U+FFFD.
    expect(Buffer.from('\uD800').equals(Buffer.from('\uDBFF'))).toBe(true);
    expect(canonicalJson({ a: '\uD83D\uDE00' })).toBe('{"a":"😀"}');
  });

  it('parseJsonStrict refuses duplicate member names, naming the member and where', () => {
    expect(() => parseJsonStrict('{"roles":[],"roles":[{"role":"a"}]}', 'policy.json')).toThrow(/policy\.json: the member "roles" appears twice in one object \(at \$\.roles\)/);
    expect(() => parseJsonStrict('{"a":{"b":1,"c":{"d":2,"d":3}}}', 'x')).toThrow(/"d" appears twice .*at \$\.a\.c\.d/);
    expect(() => parseJsonStrict('[{"k":1},{"k":2,"k\\u0000":3,"k":4}]', 'x')).toThrow(/"k" appears twice .*\$\[1\]\.k/);
    expect(parseJsonStrict('{"a":"}\\"{","b":[{"a":1},{"a":2}]}', 'x')).toEqual({ a: '}"{', b: [{ a: 1 }, { a: 2 }] });
    expect(() => parseJsonStrict('{"a":1,}', 'x')).toThrow(/x is not JSON/);
  });
});
