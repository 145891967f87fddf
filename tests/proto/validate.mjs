// Validates proto/: the AsyncAPI document with the real AsyncAPI parser, every JSON Schema with
// Ajv (draft 2020-12, strict), every example under proto/examples/<name>/ against
// proto/schemas/<name>.schema.json (must pass) and every one under proto/examples/invalid/<name>/
// (must fail), the examples embedded in the AsyncAPI messages, and that every channel has a
// schema, a key pattern and examples. Prints "N passed, M failed"; exits 1 on any failure.
import { readFileSync, readdirSync, existsSync, statSync } from 'node:fs';
import { join, dirname, basename, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';

import { Parser, fromFile } from '@asyncapi/parser';
import Ajv2020Module from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';

const Ajv2020 = Ajv2020Module.default ?? Ajv2020Module;
const addFormats = addFormatsModule.default ?? addFormatsModule;

const here = dirname(fileURLToPath(import.meta.url));
const proto = resolve(process.env.PROTO_DIR ?? join(here, '..', '..', 'proto'));
const schemasDir = join(proto, 'schemas');
const examplesDir = join(proto, 'examples');
const invalidDir = join(examplesDir, 'invalid');

let passed = 0;
let failed = 0;

function pass(what) {
    passed++;
    if (process.env.VERBOSE) console.log(`ok   ${what}`);
}

function fail(what, detail) {
    failed++;
    console.log(`FAIL ${what}`);
    if (detail) console.log(`     ${detail.replace(/\n/g, '\n     ')}`);
}

function check(cond, what, detail) {
    if (cond) pass(what);
    else fail(what, detail);
    return cond;
}

function errorsText(errors) {
    return (errors ?? [])
        .slice(0, 8)
        .map((e) => `${e.instancePath || '/'} ${e.message}${e.params ? ' ' + JSON.stringify(e.params) : ''}`)
        .join('\n');
}

function jsonFiles(dir) {
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
        .filter((f) => f.endsWith('.json'))
        .sort()
        .map((f) => join(dir, f));
}

function subdirs(dir) {
    if (!existsSync(dir)) return [];
    return readdirSync(dir)
        .filter((d) => statSync(join(dir, d)).isDirectory())
        .sort();
}

function readJson(file) {
    return JSON.parse(readFileSync(file, 'utf8'));
}

function rel(file) {
    return file.startsWith(proto) ? 'proto' + file.slice(proto.length) : file;
}

// 1. The AsyncAPI document, parsed by the real parser; any error diagnostic fails.
const parser = new Parser();
const asyncapiFile = join(proto, 'asyncapi.yaml');
// A $ref cycle makes the parser's dereferencing spin forever: fail instead of hanging the suite.
const parseTimeoutS = Number(process.env.ASYNCAPI_PARSE_TIMEOUT_S ?? 120);
const timer = setTimeout(() => {
    console.log(`FAIL asyncapi.yaml parses within ${parseTimeoutS} s (a $ref cycle?)`);
    console.log(`${passed} passed, ${failed + 1} failed`);
    process.exit(1);
}, parseTimeoutS * 1000);
const { document, diagnostics } = await fromFile(parser, asyncapiFile).parse();
clearTimeout(timer);
const errors = diagnostics.filter((d) => d.severity === 0);
for (const d of diagnostics.filter((x) => x.severity !== 0))
    console.log(`note (severity ${d.severity}) ${d.code}: ${d.message}`);
check(
    document !== undefined && errors.length === 0,
    'asyncapi.yaml parses without errors',
    errors.map((d) => `${d.code} at ${(d.path ?? []).join('.')}: ${d.message}`).join('\n'),
);
if (document !== undefined)
    check(document.version() === '3.0.0', 'asyncapi.yaml is AsyncAPI 3.0.0', `got ${document.version()}`);

// 2. Every schema compiles under strict draft 2020-12 rules.
const ajv = new Ajv2020({ strict: true, allErrors: true });
addFormats(ajv);
const schemas = new Map(); // name ("uis.call-events.v1") -> { schema, validate }
for (const file of jsonFiles(schemasDir)) {
    const name = basename(file).replace(/\.schema\.json$/, '');
    let schema;
    try {
        schema = readJson(file);
        check(
            schema.$schema === 'https://json-schema.org/draft/2020-12/schema',
            `${rel(file)} declares draft 2020-12`,
        );
        ajv.addSchema(schema, name);
        const validate = ajv.getSchema(name);
        schemas.set(name, { schema, validate });
        pass(`${rel(file)} compiles`);
    } catch (e) {
        fail(`${rel(file)} compiles`, String(e.message ?? e));
    }
}

// Each file is self-contained so another team can copy one; the copies of a shared definition
// ($defs with the same name) must stay identical.
const defs = new Map();
for (const [name, { schema }] of schemas) {
    for (const [def, body] of Object.entries(schema.$defs ?? {})) {
        if (name === 'kafka-keys') continue;
        if (!defs.has(def)) defs.set(def, { name, body });
        else {
            const first = defs.get(def);
            check(
                isDeepStrictEqual(first.body, body),
                `$defs/${def} is the same in ${first.name} and ${name}`,
            );
        }
    }
}

// 3. Examples: proto/examples/<name>/*.json must pass, proto/examples/invalid/<name>/*.json fail.
for (const dir of subdirs(examplesDir).filter((d) => d !== 'invalid')) {
    const entry = schemas.get(dir);
    if (!check(entry !== undefined, `examples/${dir} has a schema`, `no proto/schemas/${dir}.schema.json`))
        continue;
    const files = jsonFiles(join(examplesDir, dir));
    check(files.length > 0, `examples/${dir} is not empty`);
    for (const file of files) {
        let value;
        try {
            value = readJson(file);
        } catch (e) {
            fail(`${rel(file)} is JSON`, String(e.message));
            continue;
        }
        check(entry.validate(value), `${rel(file)} is valid`, errorsText(entry.validate.errors));
    }
}
for (const dir of subdirs(invalidDir)) {
    const entry = schemas.get(dir);
    if (!check(entry !== undefined, `examples/invalid/${dir} has a schema`)) continue;
    for (const file of jsonFiles(join(invalidDir, dir))) {
        let value;
        try {
            value = readJson(file);
        } catch (e) {
            fail(`${rel(file)} is JSON`, String(e.message));
            continue;
        }
        check(!entry.validate(value), `${rel(file)} is rejected`, 'the schema accepted it');
    }
}

// 4. Keys: every key pattern accepts its own examples; a few wrong keys are refused.
const keys = schemas.get('kafka-keys');
const keyValidators = new Map();
if (keys !== undefined) {
    for (const [topic, def] of Object.entries(keys.schema.$defs ?? {})) {
        const v = ajv.compile(def);
        keyValidators.set(topic, v);
        for (const k of def.examples ?? []) check(v(k), `key ${JSON.stringify(k)} fits ${topic}`);
    }
    const wrongKeys = [
        ['uis.call-events.v1', 'acme:79031112233'],
        ['uis.call-events.v1', 'acme:call:'],
        ['uis.call-events.v1', 'ACME:+79031112233'],
        ['crm.call-actions.v1', 'acme'],
        ['crm.popups.v1', 'acme:+79031112233'],
        ['crm.contacts.v1', 'acme:2981734650:5'],
        ['crm.tenant-tokens.v1', 'acme:1'],
        ['crm.popup-users.v1', 'acme:7'],
        ['crm.popup-users.v1', 'acme/07'],
        ['crm.dial-readiness.v1', 'acme:7'],
        ['crm.dial-readiness.v1', 'acme/0'],
    ];
    for (const [topic, k] of wrongKeys) {
        const v = keyValidators.get(topic);
        check(v !== undefined && !v(k), `key ${JSON.stringify(k)} is refused on ${topic}`);
    }
}

// 5. Every channel: a value schema, a key pattern, examples; every message: headers, payload,
// a Kafka key binding and examples that fit its own headers and payload schemas. The parser hands
// back dereferenced schemas carrying its own x-parser-* annotations, so they get a lenient Ajv.
if (document !== undefined) {
    const lenient = new Ajv2020({ strict: false, allErrors: true });
    addFormats(lenient);
    const channels = document.channels().all();
    check(channels.length > 0, 'the document has channels');
    for (const channel of channels) {
        const topic = channel.address();
        check(schemas.has(topic), `channel ${topic} has proto/schemas/${topic}.schema.json`);
        check(keyValidators.has(topic), `channel ${topic} has a key pattern in kafka-keys`);
        const ceDefs = schemas.get('cloudevents-headers')?.schema.$defs ?? {};
        const topicHeadersV =
            topic in ceDefs ? ajv.getSchema(`cloudevents-headers#/$defs/${topic.replace(/~/g, '~0').replace(/\//g, '~1')}`) : undefined;
        if (topic !== 'pipeline.dead-letter.v1')
            check(topicHeadersV !== undefined, `channel ${topic} has headers in cloudevents-headers $defs`);
        check(
            jsonFiles(join(examplesDir, topic)).length > 0,
            `channel ${topic} has examples in proto/examples/${topic}/`,
        );
        const binding = channel.bindings().get('kafka');
        check(binding !== undefined && binding.value().topic === topic, `channel ${topic} has a kafka binding naming it`);
        const messages = channel.messages().all();
        check(messages.length > 0, `channel ${topic} has messages`);
        for (const msg of messages) {
            const id = `${topic} message ${msg.id()}`;
            const kafka = msg.bindings().get('kafka');
            check(kafka !== undefined && kafka.value().key !== undefined, `${id} has a kafka key schema`);
            if (!check(msg.hasPayload() && msg.hasHeaders(), `${id} has headers and payload`)) continue;
            let payloadV;
            let headersV;
            try {
                payloadV = lenient.compile(msg.payload().json());
                headersV = lenient.compile(msg.headers().json());
            } catch (e) {
                fail(`${id} schemas compile`, String(e.message ?? e));
                continue;
            }
            const examples = msg.examples().all();
            check(examples.length > 0, `${id} has examples`);
            for (const ex of examples) {
                const exId = `${id} example ${ex.name() ?? '?'}`;
                check(payloadV(ex.payload()), `${exId} payload is valid`, errorsText(payloadV.errors));
                check(headersV(ex.headers()), `${exId} headers are valid`, errorsText(headersV.errors));
                if (topicHeadersV !== undefined)
                    check(topicHeadersV(ex.headers()), `${exId} headers fit the topic's headers`, errorsText(topicHeadersV.errors));
                // A message's example must also fit the topic's whole value schema (the union).
                const topicV = schemas.get(topic)?.validate;
                if (topicV !== undefined)
                    check(topicV(ex.payload()), `${exId} fits ${topic}.schema.json`, errorsText(topicV.errors));
            }
        }
    }
    const ops = document.operations().all();
    check(
        ops.some((o) => o.action() === 'send') && ops.every((o) => o.channels().length === 1),
        'every operation names one channel',
    );
    for (const channel of channels) {
        const senders = ops.filter((o) => o.action() === 'send' && o.channels().all()[0]?.address() === channel.address());
        check(senders.length > 0, `channel ${channel.address()} has a send operation (its producer)`);
    }
}

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
