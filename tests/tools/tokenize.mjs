// Tokenizes stdin with @lenml/tokenizers (a JavaScript port of Hugging Face tokenizers), as a third opinion next to
// the engine's tokenizer and llama.cpp's (docs/tokenizers.md).
// usage: node tokenize.mjs <node_modules folder holding @lenml/tokenizers> <folder with tokenizer.json and tokenizer_config.json>
// Reads a JSON array of texts on stdin and prints, for each text, its token ids (no BOS/EOS added) as a JSON array of
// arrays on stdout (one process per tokenizer: loading a 262k vocabulary takes seconds).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [nodeModules, folder] = process.argv.slice(2);
if (!nodeModules || !folder) {
  console.error("usage: node tokenize.mjs <node_modules> <tokenizer folder>");
  process.exit(2);
}
const { TokenizerLoader } = await import(pathToFileURL(join(nodeModules, "@lenml", "tokenizers", "dist", "main.mjs")).href);
const tokenizer = TokenizerLoader.fromPreTrained({
  tokenizerJSON: JSON.parse(readFileSync(join(folder, "tokenizer.json"), "utf8")),
  tokenizerConfig: JSON.parse(readFileSync(join(folder, "tokenizer_config.json"), "utf8")),
});
const texts = JSON.parse(readFileSync(0, "utf8"));
if (!Array.isArray(texts)) {
  console.error("stdin must be a JSON array of strings");
  process.exit(2);
}
const ids = texts.map((text) => tokenizer.encode(text, { add_special_tokens: false }));
process.stdout.write(JSON.stringify(ids) + "\n");
