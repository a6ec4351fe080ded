// Usage: node import.mjs FILE.bpmn [FILE.bpmn ...]
// Prints one JSON line per file: {file, warnings: [...], root, elements}; exits 1 if any file fails or warns.
import { readFileSync } from 'node:fs';
import { BpmnModdle } from 'bpmn-moddle';

const moddle = new BpmnModdle();
let bad = 0;
for (const file of process.argv.slice(2)) {
  const xml = readFileSync(file, 'utf8');
  try {
    const { rootElement, warnings, elementsById } = await moddle.fromXML(xml, 'bpmn:Definitions');
    const out = {
      file,
      root: rootElement.$type,
      elements: Object.keys(elementsById).length,
      warnings: warnings.map((w) => w.message),
    };
    if (warnings.length) bad += 1;
    console.log(JSON.stringify(out));
  } catch (err) {
    bad += 1;
    console.log(JSON.stringify({ file, error: String(err && err.message || err), warnings: [] }));
  }
}
process.exit(bad ? 1 : 0);
