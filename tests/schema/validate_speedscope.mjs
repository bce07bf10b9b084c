#!/usr/bin/env node
// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
//
// usage: node validate_speedscope.mjs FILE
//
// Validates a speedscope JSON file against the schema that speedscope's
// own npm package ships (dist/release/file-format-schema.json, the file
// served at the $schema URL), then checks what the schema cannot say but
// speedscope's importer (importSpeedscopeProfiles in the bundle) relies
// on: one weight per sample, no negative weight (it throws), frame
// indices that exist (it would read undefined).
//
// On success prints, tab-separated, one line per item:
//   profile NAME SUM_OF_WEIGHTS END_VALUE NUMBER_OF_SAMPLES
//   frame   INDEX NAME FILE LINE
//   stack   PROFILE_NAME ROOT;...;LEAF WEIGHT   (frames as "name (file:line)")
// with backslash, tab, CR and LF in names written as \\, \t, \r, \n so
// that every item stays one line; exits 0. Otherwise prints the errors
// and exits 1.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import Ajv from 'ajv';

const require = createRequire(import.meta.url);
const schemaPath = require.resolve('speedscope/dist/release/file-format-schema.json');
const schema = JSON.parse(readFileSync(schemaPath, 'utf8'));

if (process.argv.length !== 3) {
	console.error('usage: validate_speedscope.mjs FILE');
	process.exit(2);
}

let doc;
try {
	doc = JSON.parse(readFileSync(process.argv[2], 'utf8'));
} catch (e) {
	console.error(`not JSON: ${e.message}`);
	process.exit(1);
}

// Ajv 8 speaks draft-07, the schema's dialect; it is used exactly as shipped.
const ajv = new Ajv({ allErrors: true });
const validate = ajv.compile(schema);
if (!validate(doc)) {
	for (const err of validate.errors) {
		const where = err.instancePath || '/';

		console.error(`schema: ${where} ${err.message} ${JSON.stringify(err.params)}`);
	}
	process.exit(1);
}

const errors = [];
const frames = doc.shared.frames;
const esc = (s) => String(s).replace(/[\\\t\r\n]/g,
	(c) => ({ '\\': '\\\\', '\t': '\\t', '\r': '\\r', '\n': '\\n' })[c]);
const label = (f) => {
	if (f.file === undefined)
		return esc(f.name);
	return f.line === undefined ? `${esc(f.name)} (${esc(f.file)})` :
	       `${esc(f.name)} (${esc(f.file)}:${f.line})`;
};
const out = [];

frames.forEach((f, i) =>
	out.push(['frame', i, esc(f.name), esc(f.file ?? ''), f.line ?? ''].join('\t')));
doc.profiles.forEach((p, pi) => {
	if (p.type !== 'sampled') {
		errors.push(`profile ${pi}: type ${p.type}, expected sampled`);
		return;
	}
	const { samples, weights } = p;

	if (samples.length !== weights.length)
		errors.push(`profile ${pi}: ${samples.length} samples, ${weights.length} weights`);
	if (!(p.endValue >= p.startValue))
		errors.push(`profile ${pi}: endValue ${p.endValue} < startValue ${p.startValue}`);
	let sum = 0;
	p.weights.forEach((w, i) => {
		if (!Number.isFinite(w) || w < 0)
			errors.push(`profile ${pi}: weight ${i} is ${w}`);
		sum += w;
	});
	p.samples.forEach((stack, si) => {
		for (const idx of stack) {
			if (!Number.isInteger(idx) || idx < 0 || idx >= frames.length)
				errors.push(`profile ${pi}: sample ${si}: frame index ${idx} ` +
					    `of ${frames.length}`);
		}
		if (stack.every((idx) => frames[idx]))
			out.push(['stack', esc(p.name),
				  stack.map((idx) => label(frames[idx])).join(';'),
				  p.weights[si]].join('\t'));
	});
	out.push(['profile', esc(p.name), sum, p.endValue, p.samples.length].join('\t'));
});
if (doc.activeProfileIndex !== undefined &&
    !(Number.isInteger(doc.activeProfileIndex) && doc.activeProfileIndex >= 0 &&
      doc.activeProfileIndex < Math.max(doc.profiles.length, 1)))
	errors.push(`activeProfileIndex ${doc.activeProfileIndex} of ` +
		    `${doc.profiles.length} profiles`);

if (errors.length) {
	for (const e of errors)
		console.error(e);
	process.exit(1);
}
console.log(out.join('\n'));
