using System.Text.Json;
using System.Text.RegularExpressions;

namespace Optimizer.Tool.Tests;

/// <summary><c>inspect</c> on model folders written by the test: text, JSON, missing and corrupt inputs.</summary>
public sealed class InspectCommandTests : IClassFixture<InspectCommandTests.Model>
{
    private readonly Model _model;

    public InspectCommandTests(Model model) => _model = model;

    /// <summary>One small untied model shared by the tests of this class.</summary>
    public sealed class Model : IDisposable
    {
        public TinyModel Tiny { get; } = TinyModel.Create(hidden: 32, layers: 2, heads: 4, kvHeads: 2, intermediate: 64, tied: false);

        public void Dispose() => Tiny.Dispose();
    }

    [Fact]
    public void Gguf_input_shows_each_tensors_stored_type_and_bytes()
    {
        string output = Path.Combine(_model.Tiny.Root, "q8");
        var optimized = ToolProcess.Run("optimize", _model.Tiny.Folder, "-o", output, "--quant", "Q8_0", "--mitigations", "none",
            "--calibration-tokens", "64", "--sequence-length", "32", "--eval-tokens", "32", "--quiet");
        Assert.True(optimized.ExitCode == 0, optimized.ToString());
        var result = ToolProcess.Run("inspect", Path.Combine(output, "tiny-llama.gguf"), "--json");
        Assert.True(result.ExitCode == 0, result.ToString());
        using var doc = JsonDocument.Parse(result.StdOut);
        var tensors = doc.RootElement.GetProperty("tensors").EnumerateArray().ToDictionary(t => t.GetProperty("name").GetString()!);
        // Q8_0 blocks of 32: 34 bytes each (read back as F32, but stored as Q8_0).
        var q = tensors["model.layers.0.self_attn.q_proj.weight"];
        Assert.Equal("Q8_0", q.GetProperty("dtype").GetString());
        Assert.Equal(32 * 32 / 32 * 34, q.GetProperty("bytes").GetInt64());
        Assert.Equal("F32", tensors["model.norm.weight"].GetProperty("dtype").GetString());
        var dtypes = doc.RootElement.GetProperty("dtypes").EnumerateArray().Select(d => d.GetProperty("dtype").GetString()).ToArray();
        Assert.Equal(new[] { "F32", "Q8_0" }, dtypes);
    }

    /// <summary>
    /// phi3 end to end through the tool: <c>optimize</c> of a phi3 folder (fused qkv_proj/gate_up_proj, partial rotary,
    /// longrope) writes a phi3 GGUF; <c>inspect</c> of it lists the split q/k/v and gate/up with the stored attn_qkv /
    /// ffn_up type and their rows' bytes (docs/model-families.md, "Phi-3").
    /// </summary>
    [Fact]
    public void Phi3_is_optimized_and_its_gguf_inspected_with_the_fused_tensors_split()
    {
        string folder = Path.Combine(_model.Tiny.Root, "phimini");
        new Optimizer.Fixtures.SyntheticModelBuilder(Optimizer.Fixtures.SyntheticModelBuilder.Presets.Clean(18, 64))
            .WithArchitecture(Optimizer.Fixtures.SyntheticArchitecture.Phi3).WithPhi3Keys(partialRotaryFactor: 0.75)
            .WithRopeScaling(Optimizer.Fixtures.SyntheticModelBuilder.LongropeScaling(6)).WithMaxPositionEmbeddings(8192).Build(folder);
        string output = Path.Combine(_model.Tiny.Root, "phimini-q8");
        var optimized = ToolProcess.Run("optimize", folder, "-o", output, "--quant", "Q8_0",
            "--calibration-tokens", "64", "--sequence-length", "32", "--eval-tokens", "32", "--quiet");
        Assert.True(optimized.ExitCode == 0, optimized.ToString());
        string gguf = Path.Combine(output, "phimini.gguf");
        using (var file = Optimizer.Engine.Formats.Gguf.GgufFile.Open(gguf))
            Assert.Equal("phi3", file.Metadata.GetString("general.architecture"));
        var result = ToolProcess.Run("inspect", gguf, "--json");
        Assert.True(result.ExitCode == 0, result.ToString());
        using var doc = JsonDocument.Parse(result.StdOut);
        var tensors = doc.RootElement.GetProperty("tensors").EnumerateArray().ToDictionary(t => t.GetProperty("name").GetString()!);
        Assert.DoesNotContain(tensors.Keys, n => n.Contains("qkv_proj", StringComparison.Ordinal));
        var k = tensors["model.layers.1.self_attn.k_proj.weight"];
        Assert.Equal("Q8_0", k.GetProperty("dtype").GetString());
        Assert.Equal(64 * 64 / 32 * 34, k.GetProperty("bytes").GetInt64()); // 4 heads of 16 rows × 64 columns
        Assert.Equal("Q8_0", tensors["model.layers.0.mlp.up_proj.weight"].GetProperty("dtype").GetString());
    }

    [Fact]
    public void Text_ShowsArchitectureParametersFilesAndTensors()
    {
        var result = ToolProcess.Run("inspect", _model.Tiny.Folder);
        Assert.True(result.ExitCode == 0, result.ToString());
        string o = result.StdOut;
        Assert.Contains("Model: tiny-llama", o);
        Assert.Matches(@"model type:\s+llama \(LlamaForCausalLM\)", o);
        Assert.Matches(@"layers:\s+2\n", o);
        Assert.Matches(@"hidden size:\s+32\n", o);
        Assert.Matches(@"attention heads:\s+4\n", o);
        Assert.Matches(@"key/value heads:\s+2 \(grouped-query attention\)", o);
        Assert.Matches(@"head dim:\s+8\n", o);
        Assert.Matches(@"intermediate size:\s+64\n", o);
        Assert.Matches(@"vocabulary:\s+257\n", o);
        Assert.Matches(@"rope theta:\s+10000\n", o);
        Assert.Matches(@"rms norm eps:\s+1E-05\n", o);
        Assert.Matches(@"tied embeddings:\s+no\n", o);
        Assert.Matches(@"q/k/v bias:\s+no\n", o);
        // embed + head 2*257*32, final norm 32, per layer: 2 norms 64, q 32*32, k/v 2*16*32, o 32*32, 3 MLP 3*64*32.
        long expected = 2 * 257 * 32 + 32 + 2 * (64 + 1024 + 1024 + 1024 + 3 * 2048);
        string count = expected.ToString("N0", System.Globalization.CultureInfo.InvariantCulture);
        Assert.Matches(@"Parameters:\s+" + Regex.Escape(count) + @" \(", o);
        Assert.Matches(@"Tokenizer:\s+byte-level-bpe \(tokenizer\.json", o);
        Assert.Matches(@"F32\s+21\s+" + Regex.Escape(count), o);
        Assert.Matches(@"model\.safetensors\s+\d+\.\d KiB", o);
        Assert.Matches(@"config\.json\s+\d+ B", o);
        Assert.Contains("Tensors (21)", o);
        Assert.Matches(@"model\.layers\.1\.mlp\.down_proj\.weight\s+F32\s+\[32, 64\]\s+8\.0 KiB", o);
        Assert.Matches(@"lm_head\.weight\s+F32\s+\[257, 32\]", o);
        Assert.Equal("", result.StdErr);
    }

    [Fact]
    public void Tensors_AreListedInLayerOrder()
    {
        using var deep = TinyModel.Create(hidden: 8, layers: 11, heads: 2, kvHeads: 1, intermediate: 16);
        var result = ToolProcess.Run("inspect", deep.Folder, "--json");
        Assert.True(result.ExitCode == 0, result.ToString());
        using var doc = JsonDocument.Parse(result.StdOut);
        var layers = doc.RootElement.GetProperty("tensors").EnumerateArray()
            .Select(t => t.GetProperty("name").GetString()!)
            .Where(n => n.EndsWith(".input_layernorm.weight", StringComparison.Ordinal))
            .ToList();
        Assert.Equal(Enumerable.Range(0, 11).Select(i => $"model.layers.{i}.input_layernorm.weight"), layers);
    }

    [Fact]
    public void NoTensors_LeavesOutTheTensorTable()
    {
        var result = ToolProcess.Run("inspect", _model.Tiny.Folder, "--no-tensors");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.DoesNotContain("Tensors (", result.StdOut);
        Assert.Contains("Files (", result.StdOut);
    }

    [Fact]
    public void Json_IsDeterministicAndComplete()
    {
        var first = ToolProcess.Run("inspect", _model.Tiny.Folder, "--json");
        var second = ToolProcess.Run("inspect", Path.Combine(_model.Tiny.Folder, "config.json"), "--json", "--quiet");
        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.True(second.ExitCode == 0, second.ToString());
        Assert.Equal(first.StdOut, second.StdOut);

        using var doc = JsonDocument.Parse(first.StdOut);
        var root = doc.RootElement;
        Assert.Equal("outlier-opt-inspect/1", root.GetProperty("schema").GetString());
        Assert.Equal("tiny-llama", root.GetProperty("model").GetString());
        var arch = root.GetProperty("architecture");
        Assert.Equal("llama", arch.GetProperty("model_type").GetString());
        Assert.Equal(2, arch.GetProperty("num_hidden_layers").GetInt32());
        Assert.Equal(2, arch.GetProperty("num_key_value_heads").GetInt32());
        Assert.Equal(8, arch.GetProperty("head_dim").GetInt32());
        Assert.False(arch.GetProperty("tie_word_embeddings").GetBoolean());
        Assert.Equal(1e-5, arch.GetProperty("rms_norm_eps").GetDouble());
        var tensors = root.GetProperty("tensors").EnumerateArray().ToList();
        Assert.Equal(21, tensors.Count);
        var names = tensors.Select(t => t.GetProperty("name").GetString()!).ToList();
        Assert.Equal(names.Distinct().Count(), names.Count);
        Assert.Equal("lm_head.weight", names[0]);
        Assert.Equal("model.norm.weight", names[^1]);
        long parameters = root.GetProperty("parameters").GetInt64();
        Assert.Equal(tensors.Sum(t => t.GetProperty("shape").EnumerateArray().Aggregate(1L, (a, d) => a * d.GetInt64())), parameters);
        var files = root.GetProperty("files").EnumerateArray().Select(f => f.GetProperty("name").GetString()).ToList();
        Assert.Contains("model.safetensors", files);
        Assert.Contains("tokenizer.json", files);
        Assert.DoesNotContain(_model.Tiny.Root, first.StdOut);
    }

    [Fact]
    public void MissingModel_ExitsOne_WithModelNotFoundNamingThePath()
    {
        string missing = Path.Combine(_model.Tiny.Root, "no-such-model");
        var result = ToolProcess.Run("inspect", missing);
        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Equal($"{missing}: error OOPT1001: The model folder does not exist.\n", result.StdErr);
        Assert.Equal("", result.StdOut);
    }

    [Fact]
    public void CorruptSafetensors_ExitsOne_NamingTheFile_NoStackTrace()
    {
        using var broken = TinyModel.Create(hidden: 16, layers: 1, heads: 2, kvHeads: 1, intermediate: 32);
        string weights = Path.Combine(broken.Folder, "model.safetensors");
        byte[] bytes = File.ReadAllBytes(weights);
        File.WriteAllBytes(weights, bytes[..(bytes.Length / 2)]);

        var result = ToolProcess.Run("inspect", broken.Folder);
        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Matches(new Regex(@"^\S*model\.safetensors(\(\d+,\d+\))?: error OOPT10\d\d: [^\n]+\n$"), result.StdErr);
        Assert.DoesNotContain("   at ", result.StdErr);
    }

    [Fact]
    public void CorruptSafetensors_InMsbuildMode_IsOneCanonicalLine()
    {
        using var broken = TinyModel.Create(hidden: 16, layers: 1, heads: 2, kvHeads: 1, intermediate: 32);
        string weights = Path.Combine(broken.Folder, "model.safetensors");
        File.WriteAllBytes(weights, new byte[] { 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F, (byte)'{' });

        var result = ToolProcess.Run("inspect", broken.Folder, "--diagnostics", "msbuild", "--verbose");
        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Matches(new Regex(@"^\S*model\.safetensors(\(\d+,\d+\))?: error OOPT10\d\d: [^\n]+\n"), result.StdErr);
    }
}
