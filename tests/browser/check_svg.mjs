#!/usr/bin/env node
// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
//
// usage: check_svg.mjs FILE PATTERN [--screenshot PNG]
//
// Opens a pybpfprof flame graph in the system Chromium (file://, no
// network), searches PATTERN the way a user would (Ctrl-F, type, Enter),
// then hovers and zooms into the widest match and resets the zoom.
// Prints one JSON object:
//   {"title", "matched_text", "matched_pct", "highlighted", "frames",
//    "hover", "fill", "zoom_width", "scripts", "load_ms", "search_ms"}
// where "fill" is the widest match's colour as drawn once the search is
// cleared, "rgb(R, G, B)" (a diff's colour says how it changed).
// and exits non-zero on any console error, page error, dialog (alert,
// confirm, prompt), failed request, or markup that is not the writer's.
import { chromium } from 'playwright-core';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const ARGS = [
	'--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
	'--disable-background-networking', '--disable-component-update', '--disable-sync',
];

function usage() {
	console.error('usage: check_svg.mjs FILE PATTERN [--screenshot PNG]');
	process.exit(2);
}

const argv = process.argv.slice(2);
let screenshot = null;
const pos = [];
for (let i = 0; i < argv.length; i++) {
	if (argv[i] === '--screenshot' && i + 1 < argv.length)
		screenshot = argv[++i];
	else
		pos.push(argv[i]);
}
if (pos.length !== 2)
	usage();
const [file, pattern] = pos;

const problems = [];
const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
try {
	const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });

	page.on('console', (msg) => {
		if (msg.type() === 'error')
			problems.push(`console error: ${msg.text()}`);
	});
	page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
	// Nothing in the file may open a dialog: a name that ran as script would.
	page.on('dialog', async (d) => {
		problems.push(`dialog (${d.type()}): ${d.message()}`);
		await d.dismiss();
	});
	page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
	page.on('request', (r) => {
		if (!r.url().startsWith('file:'))
			problems.push(`network request: ${r.url()}`);
	});

	const t0 = Date.now();
	await page.goto(pathToFileURL(resolve(file)).href, { waitUntil: 'load' });
	const load_ms = Date.now() - t0;

	const dom = await page.evaluate(() => {
		const all = [...document.getElementsByTagName('*')];
		const handlers = all.filter((e) =>
			[...e.attributes].some((a) => /^on/i.test(a.name)));
		const svgNS = 'http://www.w3.org/2000/svg';
		const foreign = all.filter((e) => e.namespaceURI !== svgNS &&
			!(e.localName === 'input' && e.id === 'term'));
		return {
			root: document.documentElement.localName,
			title: document.getElementById('title')?.textContent ?? null,
			scripts: document.getElementsByTagName('script').length,
			handlers: handlers.map((e) => e.localName),
			foreign: foreign.map((e) => e.localName),
			frames: document.querySelectorAll('#frames > rect').length,
			api: typeof window.pybpfprof?.search,
		};
	});
	if (dom.root !== 'svg')
		problems.push(`root element is <${dom.root}>, not <svg>`);
	if (dom.scripts !== 1)
		problems.push(`${dom.scripts} <script> elements, want the writer's one`);
	if (dom.handlers.length)
		problems.push(`event handler attributes on: ${dom.handlers.join(', ')}`);
	if (dom.foreign.length)
		problems.push(`elements outside SVG: ${dom.foreign.join(', ')}`);
	if (dom.api !== 'function')
		problems.push('the flame graph script did not run (no pybpfprof.search)');

	// Search through the UI: Ctrl-F focuses the box, Enter runs it.
	const s0 = Date.now();
	await page.keyboard.press('Control+f');
	const focused = await page.evaluate(() => document.activeElement?.id);
	if (focused !== 'term')
		problems.push(`Ctrl-F focused ${focused}, not the search box`);
	await page.keyboard.type(pattern);
	await page.keyboard.press('Enter');
	const res = await page.evaluate(() => ({
		text: document.getElementById('matched').textContent,
		highlighted: document.querySelectorAll('#frames > rect.m').length,
		last: window.pybpfprof.last(),
	}));
	const search_ms = Date.now() - s0;
	if (!res.last || res.last.term !== pattern)
		problems.push('the search box did not run a search');

	// Hover and zoom into the widest match, then reset.
	let hover = null, zoom_width = null, fill = null;
	const widest = await page.evaluate(() => {
		let best = null;
		for (const r of document.querySelectorAll('#frames > rect.m')) {
			if (!best || +r.dataset.n > +best.dataset.n)
				best = r;
		}
		if (best)
			best.id = 'check-widest';
		return best ? +best.getAttribute('width') : 0;
	});
	if (widest >= 1) {
		const r = page.locator('#check-widest');
		const width = () => page.evaluate(() =>
			+document.getElementById('check-widest').getAttribute('width'));
		await r.hover({ force: true });
		hover = await page.evaluate(() => {
			const tip = document.getElementById('tip');
			const lines = [...tip.querySelectorAll('tspan')].map((t) => t.textContent);
			return tip.classList.contains('hidden') ? null : lines.join('\n');
		});
		await r.click({ force: true });
		zoom_width = await width();
		const unzoom = await page.evaluate(() =>
			!document.getElementById('unzoom').classList.contains('hidden'));
		if (!unzoom)
			problems.push('no Reset zoom control after zooming');
		await page.click('#unzoom');
		const back = await width();
		if (Math.abs(back - widest) > 0.1)
			problems.push(`reset zoom: width ${back}, was ${widest}`);
		await page.mouse.move(0, 0);
		fill = await page.evaluate(() => {
			window.pybpfprof.search('');
			return getComputedStyle(document.getElementById('check-widest')).fill;
		});
	}

	if (screenshot) {
		// The graph as it opens: no search, no tooltip.
		await page.evaluate(() => {
			document.getElementById('term').value = '';
			window.pybpfprof.search('');
		});
		const box = await page.evaluate(() => ({
			w: +document.documentElement.getAttribute('width'),
			h: +document.documentElement.getAttribute('height'),
		}));
		await page.setViewportSize({ width: box.w, height: box.h });
		const clip = { x: 0, y: 0, width: box.w, height: box.h };
		await page.screenshot({ path: screenshot, clip });
	}

	console.log(JSON.stringify({
		title: dom.title,
		matched_text: res.text,
		matched_pct: res.last ? res.last.matched : null,
		highlighted: res.highlighted,
		frames: dom.frames,
		hover,
		fill,
		zoom_width,
		scripts: dom.scripts,
		load_ms,
		search_ms,
	}));
} finally {
	await browser.close();
}
if (problems.length) {
	for (const p of problems)
		console.error(`check_svg: ${p}`);
	process.exit(1);
}
