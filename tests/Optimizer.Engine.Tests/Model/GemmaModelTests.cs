using System.Collections.Concurrent;
using Optimizer.Engine.Diagnostics;
using Optimizer.Engine.Formats;
using Optimizer.Engine.Model;
using Optimizer.Engine.Tests.Diagnostics;
using Optimizer.Engine.Tests.Fixtures;
using Optimizer.Engine.Tests.Reference;
using Optimizer.Fixtures;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Optimizer.Engine.Tests.Model;

/// <summary>Gemma 2 and Gemma 3 text: the forward against the float64 reference, config handling, probe sites and the planted MA.</summary>
public sealed class GemmaModelTests(ITestOutputHelper output)
{
    /// <summary>Largest |engine − reference| logit accepted, relative to the largest |logit| (float32 forward; measured values are printed).</summary>
    public const double RelativeTolerance = 1e-4;

    private static readonly ConcurrentDictionary<GemmaFamily, Lazy<string>> Folders = new();

    /// <summary>The written model of <paramref name="family"/> (one per test run, deleted at exit).</summary>
    internal static string Folder(GemmaFamily family) => Folders.GetOrAdd(family, f => new Lazy<string>(() =>
    {
        string folder = Path.Combine(Path.GetTempPath(), $"oopt-gemma-{f}-{Guid.NewGuid():N}");
        GemmaSyntheticModel.Write(Options(f), folder);
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try { Directory.Delete(folder, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        };
        return folder;
    })).Value;

    internal static GemmaSyntheticOptions Options(GemmaFamily family) =>
        family == GemmaFamily.Gemma2 ? GemmaSyntheticOptions.Gemma2Model() : GemmaSyntheticOptions.Gemma3Model();

    [Theory]
    [InlineData(GemmaFamily.Gemma2)]
    [InlineData(GemmaFamily.Gemma3)]
    public void LogitsMatchFloat64Reference(GemmaFamily family)
    {
        string folder = Folder(family);
        var config = ModelConfig.Load(Path.Combine(folder, "config.json"));
        using var weights = SafetensorsFile.Open(Path.Combine(folder, SyntheticModel.WeightsFileName));
        int[][] batch = { CalibrationTokens.Sequence(16), CalibrationTokens.Sequence(40)[24..40] };
        batch[1][0] = ByteLevelVocabulary.BosId;
        float[] actual;
        using (var model = LlamaModel.Create(config, weights, new ModelOptions()))
        using (var logits = model.Forward(batch))
            actual = logits.data<float>().ToArray();

        var (maxAbs, maxDiff) = Compare(new GemmaReferenceDecoder(config, weights), batch, actual, config.VocabSize);
        output.WriteLine($"{family}: max |Δlogit| {maxDiff:E3}, max |logit| {maxAbs:F3}, relative {maxDiff / maxAbs:E3}");
        Assert.True(maxAbs > 1, $"logits too small to be a meaningful check ({maxAbs})");
        Assert.True(maxDiff / maxAbs <= RelativeTolerance, $"max |Δlogit| / max |logit| = {maxDiff / maxAbs:E3}");

        // The sliding window (6) is shorter than the sequences: without it the reference is far off the engine.
        var (_, windowless) = Compare(new GemmaReferenceDecoder(config, weights, windowOverride: 1000), batch, actual, config.VocabSize);
        output.WriteLine($"{family}: the reference without the sliding window differs by {windowless:E3}");
        Assert.True(windowless > 100 * RelativeTolerance * maxAbs, $"the sliding window changes the logits by only {windowless:E3}");
        if (config.FinalLogitSoftcapping is double cap)
            Assert.True(maxAbs > cap / 4, $"max |logit| {maxAbs} is too small for the final soft-cap {cap} to matter");
    }

    [Theory]
    [InlineData(GemmaFamily.Gemma2)]
    [InlineData(GemmaFamily.Gemma3)]
    public void EmitsTheFamilySitesAndThePlantedMassiveActivation(GemmaFamily family)
    {
        string folder = Folder(family);
        var options = Options(family);
        var config = ModelConfig.Load(Path.Combine(folder, "config.json"));
        using var weights = SafetensorsFile.Open(Path.Combine(folder, SyntheticModel.WeightsFileName));
        using var model = LlamaModel.Create(config, weights, new ModelOptions());
        var capture = new CapturingSiteProbe();
        var statistics = new ActivationStatistics();
        int[] tokens = CalibrationTokens.Sequence(48);
        using (var logits = model.Forward(new[] { tokens }, new CompositeProbe(capture, statistics))) { }

        var expectedSites = ProbeSites.For(config);
        Assert.Equal(family == GemmaFamily.Gemma3 ? 21 : 19, expectedSites.Count);
        Assert.Equal(config.NumHiddenLayers * expectedSites.Count, statistics.Sites.Count());
        Assert.Equal(17, ProbeSites.For(new ModelConfig { ModelType = "llama" }).Count);
        Assert.True(ProbeSites.TryParse("attn.post_norm", out var post) && post == ProbeSite.AttnPostNorm);

        int birth = options.MassiveLayer!.Value;
        for (int layer = 0; layer < config.NumHiddenLayers; layer++)
        {
            double[][] y8 = capture.Activations[layer, "y8"];
            double bos = y8[0][options.MassiveChannel];
            double others = y8.Skip(1).Max(row => row.Max(Math.Abs));
            output.WriteLine($"{family} layer {layer}: y8[BOS, {options.MassiveChannel}] = {bos:F1}, max |y8| elsewhere {others:F2}");
            if (layer < birth) Assert.True(Math.Abs(bos) < 100, $"layer {layer}: {bos}");
            else Assert.True(Math.Abs(bos) > 1000 && Math.Abs(bos) > 20 * others, $"layer {layer}: BOS {bos}, others {others}");
        }
        // y8 = y1 + post_norm and y1 = attn.y1 + attn.post_norm, exactly as the block adds them.
        double[][] y1 = capture.Activations[birth, "y1"], postNorm = capture.Activations[birth, "post_norm"];
        double[][] y8Birth = capture.Activations[birth, "y8"];
        Assert.Equal(y1[0][options.MassiveChannel] + postNorm[0][options.MassiveChannel], y8Birth[0][options.MassiveChannel], 1e-2);
    }

    [Theory]
    [InlineData(GemmaFamily.Gemma2)]
    [InlineData(GemmaFamily.Gemma3)]
    public void AnalysisFindsThePlantedMassiveActivation(GemmaFamily family)
    {
        var options = Options(family);
        var (analysis, folder) = PresetAnalysis.Run(Folder(family));
        using (folder)
        {
            var births = analysis.MassiveActivations.Births;
            foreach (var b in births) output.WriteLine($"birth layer {b.Layer} {ProbeSites.Id(b.Site)} channel {b.Channel} residual {b.ResidualChannel} position {b.TokenPosition} value {b.Value:F1}");
            var birth = Assert.Single(births);
            Assert.Equal((options.MassiveLayer!.Value, options.MassiveChannel, 0), (birth.Layer, birth.ResidualChannel, birth.TokenPosition));
            Assert.Contains(analysis.MassiveActivations.Occurrences, o => o.Layer == birth.Layer && o.Site == ProbeSite.PostNorm);
        }
    }

    [Fact]
    public void AbsentKeysTakeTheGemmaDefaults()
    {
        string folder = Directory.CreateTempSubdirectory("oopt-gemma-config-").FullName;
        try
        {
            string path = Path.Combine(folder, "config.json");
            File.WriteAllText(path, """
                {"model_type": "gemma3_text", "vocab_size": 300, "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 7,
                 "num_attention_heads": 2, "num_key_value_heads": 1, "head_dim": 32, "sliding_window": 16}
                """);
            var config = ModelConfig.Load(path);
            Assert.True(config.TieWordEmbeddings);
            Assert.Equal(1_000_000, config.RopeTheta);
            Assert.Equal(256, config.QueryPreAttnScalar);
            Assert.Null(config.FinalLogitSoftcapping);
            Assert.Equal(new[] { true, true, true, true, true, false, true }, Enumerable.Range(0, 7).Select(config.IsSlidingLayer));
            Assert.Equal(10000, config.RopeBase(0));
            Assert.Equal(1_000_000, config.RopeBase(5));

            File.WriteAllText(path, """
                {"model_type": "gemma2", "vocab_size": 300, "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 3,
                 "num_attention_heads": 2, "head_dim": 32, "final_logit_softcapping": null}
                """);
            config = ModelConfig.Load(path);
            Assert.Equal((50.0, (double?)null, 4096), (config.AttnLogitSoftcapping!.Value, config.FinalLogitSoftcapping, config.SlidingWindow!.Value));
            Assert.Equal(new[] { true, false, true }, Enumerable.Range(0, 3).Select(config.IsSlidingLayer));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Theory]
    [InlineData("""{"model_type": "gemma3", "text_config": {"model_type": "gemma3_text"}}""", ErrorCodes.UnsupportedArchitecture, "gemma3_text")]
    [InlineData("""{"model_type": "gemma2", "hidden_activation": "gelu"}""", ErrorCodes.UnsupportedConfigValue, "hidden_activation")]
    [InlineData("""{"model_type": "gemma2", "rope_scaling": {"rope_type": "linear", "factor": 2}}""", ErrorCodes.UnsupportedConfigValue, "rope_scaling")]
    [InlineData("""{"model_type": "gemma3_text", "rope_scaling": {"rope_type": "yarn", "factor": 2}}""", ErrorCodes.UnsupportedConfigValue, "linear")]
    [InlineData("""{"model_type": "gemma3_text", "layer_types": ["sliding_attention"]}""", ErrorCodes.ConfigInvalid, "layer_types")]
    [InlineData("""{"model_type": "gemma3_text", "use_bidirectional_attention": true}""", ErrorCodes.UnsupportedConfigValue, "use_bidirectional_attention")]
    [InlineData("""{"model_type": "gemma2", "attn_logit_softcapping": -1}""", ErrorCodes.ConfigInvalid, "attn_logit_softcapping")]
    [InlineData("""{"model_type": "gemma2", "sliding_window": 0}""", ErrorCodes.ConfigInvalid, "sliding_window")]
    public void RefusesWhatItDoesNotImplement(string json, string code, string mention)
    {
        string folder = Directory.CreateTempSubdirectory("oopt-gemma-config-").FullName;
        try
        {
            string path = Path.Combine(folder, "config.json");
            // The shape keys are added to every case so that only the key under test is wrong.
            string body = json[..^1] + """, "vocab_size": 300, "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 2, "head_dim": 32}""";
            File.WriteAllText(path, body);
            var error = Assert.Throws<OptimizerException>(() => ModelConfig.Load(path));
            Assert.Equal(code, error.Code);
            Assert.Contains(mention, error.Message);
            Assert.Equal(path, error.File);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static (double MaxAbs, double MaxDiff) Compare(GemmaReferenceDecoder reference, int[][] batch, float[] actual, int vocab)
    {
        double maxAbs = 0, maxDiff = 0;
        int length = batch[0].Length;
        for (int b = 0; b < batch.Length; b++)
        {
            double[][] expected = reference.Logits(batch[b]);
            for (int t = 0; t < expected.Length; t++)
            {
                for (int v = 0; v < vocab; v++)
                {
                    double e = expected[t][v];
                    maxAbs = Math.Max(maxAbs, Math.Abs(e));
                    maxDiff = Math.Max(maxDiff, Math.Abs(e - actual[((long)b * length + t) * vocab + v]));
                }
            }
        }
        return (maxAbs, maxDiff);
    }
}
