using System.Collections.Concurrent;
using LLama;
using Optimizer.Engine.Formats;
using Optimizer.Engine.Formats.Gguf;
using Optimizer.Fixtures;

namespace Optimizer.LlamaCpp.Tests;

/// <summary>
/// Each real tokenizer (scripts/fetch-tokenizers.sh), loaded once per test class: the engine's <see cref="ModelTokenizer"/>
/// of a model folder (tiny config + real files), a vocabulary-only GGUF file written with the engine's tokenizer
/// metadata and loaded by llama.cpp, and <c>@lenml/tokenizers</c>' ids of the test texts.
/// </summary>
public sealed class RealTokenizerGgufSet : IDisposable
{
    private readonly string _folder = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "oopt-tok-" + Guid.NewGuid().ToString("N"))).FullName;
    private readonly ConcurrentDictionary<string, Lazy<Loaded>> _loaded = new();

    public sealed record Loaded(ModelTokenizer Tokenizer, ModelConfig Config, string Gguf, LLamaWeights Vocabulary, int[][] NodeIds);

    public Loaded Get(RealTokenizerFamily family) => _loaded.GetOrAdd(family.Name, _ => new(() =>
    {
        var (folder, config) = RealTokenizers.CreateModelFolder(family, _folder);
        var tokenizer = ModelTokenizer.Load(folder, config);
        string gguf = Path.Combine(_folder, family.Name + ".vocab.gguf");
        WriteVocabularyGguf(gguf, tokenizer, config);
        var vocabulary = LlamaRuntime.LoadVocabulary(gguf);
        return new Loaded(tokenizer, config, gguf, vocabulary, RealTokenizers.NodeTokenize(family, RealTokenizers.Texts(family)));
    })).Value;

    /// <summary>
    /// The family's vocabulary-only GGUF with one tokenizer key replaced (to show the three-way test notices a wrong
    /// key); loaded in llama.cpp, disposed by the caller.
    /// </summary>
    public LLamaWeights LoadWithChangedKey(RealTokenizerFamily family, string key, GgufValue value)
    {
        var loaded = Get(family);
        string gguf = Path.Combine(_folder, $"{family.Name}.{key}.gguf");
        WriteVocabularyGguf(gguf, loaded.Tokenizer, loaded.Config, (key, value));
        return LlamaRuntime.LoadVocabulary(gguf);
    }

    /// <summary>A GGUF file with the llama hyper-parameters of <paramref name="config"/> and the tokenizer metadata, no tensors.</summary>
    private static void WriteVocabularyGguf(string path, ModelTokenizer tokenizer, ModelConfig config, (string Key, GgufValue Value)? change = null)
    {
        const string arch = "llama";
        var writer = new GgufWriter();
        writer.Add(GgufKeys.Architecture, arch);
        writer.Add(GgufKeys.Name, "vocab-only");
        writer.Add(GgufKeys.Arch(arch, GgufKeys.VocabSize), (uint)config.VocabSize);
        writer.Add(GgufKeys.Arch(arch, GgufKeys.ContextLength), (uint)config.MaxPositionEmbeddings);
        writer.Add(GgufKeys.Arch(arch, GgufKeys.EmbeddingLength), (uint)config.HiddenSize);
        writer.Add(GgufKeys.Arch(arch, GgufKeys.BlockCount), (uint)config.NumHiddenLayers);
        writer.Add(GgufKeys.Arch(arch, GgufKeys.FeedForwardLength), (uint)config.IntermediateSize);
        writer.Add(GgufKeys.Arch(arch, GgufKeys.RopeDimensionCount), (uint)config.HeadDim);
        writer.Add(GgufKeys.Arch(arch, GgufKeys.HeadCount), (uint)config.NumAttentionHeads);
        writer.Add(GgufKeys.Arch(arch, GgufKeys.HeadCountKv), (uint)config.KeyValueHeads);
        writer.Add(GgufKeys.Arch(arch, GgufKeys.RmsEpsilon), (float)config.RmsNormEps);
        foreach (var (key, value) in GgufTokenizerMetadata.ForTokenizer(tokenizer, config))
            writer.Add(key, change is { } c && c.Key == key ? c.Value : value);
        writer.Write(path);
    }

    public void Dispose()
    {
        foreach (var lazy in _loaded.Values)
        {
            if (lazy.IsValueCreated) lazy.Value.Vocabulary.Dispose();
        }
        try { Directory.Delete(_folder, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

/// <summary>
/// Token ids of the real tokenizers agree three ways (docs/tokenizers.md): the engine, llama.cpp on the GGUF metadata the
/// engine writes, and <c>@lenml/tokenizers</c> (a port of Hugging Face tokenizers).
/// </summary>
public class RealTokenizerLlamaCppTests : IClassFixture<RealTokenizerGgufSet>
{
    private readonly RealTokenizerGgufSet _set;

    public RealTokenizerLlamaCppTests(RealTokenizerGgufSet set) => _set = set;

    public static TheoryData<string> Families() => new(RealTokenizers.All.Select(f => f.Name));

    [Theory]
    [MemberData(nameof(Families))]
    public void IdsAgreeThreeWays(string name)
    {
        var family = RealTokenizers.Get(name);
        var loaded = _set.Get(family);
        Assert.Equal(loaded.Config.VocabSize, loaded.Vocabulary.Vocab.Count);
        var texts = RealTokenizers.Texts(family);
        var failures = new List<string>();
        for (int i = 0; i < texts.Count; i++)
        {
            int[] engine = loaded.Tokenizer.Encode(texts[i], addBos: false);
            int[] llama = LlamaRuntime.Tokenize(loaded.Vocabulary, texts[i], addBos: false);
            int[] node = loaded.NodeIds[i];
            if (!engine.SequenceEqual(llama) || !engine.SequenceEqual(node))
                failures.Add($"text {i} {System.Text.Json.JsonSerializer.Serialize(texts[i])}:\n  engine    [{string.Join(", ", engine)}]\n  llama.cpp [{string.Join(", ", llama)}]\n  node      [{string.Join(", ", node)}]");
        }
        Assert.True(failures.Count == 0, $"{name}: {failures.Count} of {texts.Count} texts differ\n" + string.Join("\n", failures));
    }

    [Theory]
    [MemberData(nameof(Families))]
    public void LlamaCppAddsBosExactlyWhenTheGgufSaysSo(string name)
    {
        var family = RealTokenizers.Get(name);
        var loaded = _set.Get(family);
        string text = RealTokenizers.Texts(family)[0];
        int[] plain = LlamaRuntime.Tokenize(loaded.Vocabulary, text, addBos: false);
        int[] withSpecial = LlamaRuntime.Tokenize(loaded.Vocabulary, text, addBos: true);
        var metadata = GgufTokenizerMetadata.ForTokenizer(loaded.Tokenizer, loaded.Config).ToDictionary(e => e.Key, e => e.Value);
        bool addBos = (bool)metadata[GgufKeys.AddBos].Value;
        bool addEos = (bool)metadata[GgufKeys.AddEos].Value;
        var expected = new List<int>();
        if (addBos) expected.Add(loaded.Tokenizer.BosId!.Value);
        expected.AddRange(plain);
        if (addEos) expected.Add(loaded.Tokenizer.EosId!.Value);
        Assert.Equal(expected, withSpecial);
        Assert.Equal(loaded.Tokenizer.Encode(text, addBos: addBos), addEos ? withSpecial[..^1] : withSpecial);
    }

    [Theory]
    [InlineData("llama3", GgufKeys.TokenizerPre, "qwen2", 4)]           // Qwen's split: one digit at a time
    [InlineData("qwen3", GgufKeys.TokenizerPre, "gpt-2", 11)]           // GPT-2's split: case-sensitive contractions ("DON'T")
    [InlineData("gemma3", GgufKeys.AddSpacePrefix, "true", 0)]          // a ▁ before the text
    public void AWrongKeyMakesLlamaCppDisagree(string name, string key, string value, int text)
    {
        var family = RealTokenizers.Get(name);
        var loaded = _set.Get(family);
        using var changed = _set.LoadWithChangedKey(family, key, value is "true" ? GgufValue.Bool(true) : GgufValue.String(value));
        string sample = RealTokenizers.Texts(family)[text];
        int[] engine = loaded.Tokenizer.Encode(sample, addBos: false);
        Assert.Equal(engine, LlamaRuntime.Tokenize(loaded.Vocabulary, sample, addBos: false));
        Assert.NotEqual(engine, LlamaRuntime.Tokenize(changed, sample, addBos: false));
    }
}
