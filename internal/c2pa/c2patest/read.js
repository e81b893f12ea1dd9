// Reads a file's C2PA manifest store with c2pa-rs (the native module of
// @contentauth/c2pa-node) and prints the reader's JSON report.
// Usage: node read.js INDEX_NODE FILE [ANCHORS_PEM]
const fs = require('fs');
const n = require(process.argv[2]);
(async () => {
  let settings;
  if (process.argv[4]) {
    settings = JSON.stringify({
      trust: { trust_anchors: fs.readFileSync(process.argv[4], 'utf8') },
      verify: { verify_trust: true },
    });
  }
  try {
    const r = await n.readerFromAsset({ path: process.argv[3] }, settings);
    if (!r) { console.log(JSON.stringify({ none: true })); return; }
    console.log(n.readerJson.call(r));
  } catch (e) {
    console.log(JSON.stringify({ error: String(e) }));
  }
})();
