using Optimizer.Engine.Calibration;
using Optimizer.Engine.Evaluation;
using Optimizer.Engine.Formats;
using Optimizer.Engine.Formats.Gguf;
using Optimizer.Engine.Model;
using Optimizer.Engine.Quantization;
using Optimizer.Engine.Quantization.ErrorCompensation;
using Optimizer.LlamaCpp;
using Xunit.Abstractions;

namespace Optimizer.LlamaCpp.Tests;

/// <summary>
/// Files written with error-compensating rounding (docs/quantization.md "Error-compensating rounding") are ordinary
/// ggml files: llama.cpp loads and runs them unchanged, its perplexity agrees with the engine's evaluation of exactly
/// the encoded values, and — judged by llama.cpp on held-out text against its own run of the F32 file — they drift
/// less from the original than llama.cpp's stock file of the same recipe and the same size.
/// </summary>
public sealed class ErrorCompensatedFileTests(ITestOutputHelper output) : IDisposable
{
    private const int Context = 128;
    private const int Windows = 4;
    private readonly string _folder = Directory.CreateTempSubdirectory("oopt-compensated-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_folder, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    [Theory]
    [InlineData("Q4_0", 0.6)]
    [InlineData("Q4_K_M", 0.8)]
    public void Llama_cpp_runs_the_compensated_file_and_finds_it_closer_to_the_original_than_its_stock_file(string recipeName, double maxRatio)
    {
        using var folder = ModelFolder.Open(RepositoryPaths.AustenFixture);
        var recipe = QuantizationRecipe.Parse(recipeName);
        var stock = new GgufRoundTrip(recipe, folder.Config);
        CalibrationSet calibration = TextCalibration.Build(folder.Tokenizer,
            new CalibrationOptions { Paths = new[] { RepositoryPaths.AustenTrain }, SequenceLength = Context, Tokens = 8 * Context });
        var (encoded, records) = LayerwiseCompensation.Run(folder.Config, folder.Weights, stock, calibration.Sequences, 4, new ModelOptions(), null, CancellationToken.None);
        Assert.Contains(records, r => r.Skipped is null);

        string compensatedPath = Path.Combine(_folder, $"compensated.{recipeName}.gguf");
        GgufExportResult compensated = LlamaGgufExporter.Export(folder, folder.Weights, recipe, compensatedPath, null, CancellationToken.None, encoded: encoded);
        GgufExportResult plain = GgufExports.Export(GgufExports.Austen, recipeName);
        Assert.Equal(plain.FileBytes, compensated.FileBytes);
        Assert.Equal(plain.Tensors.Select(t => t.Type), compensated.Tensors.Select(t => t.Type));

        string text = File.ReadAllText(RepositoryPaths.AustenHeldOut);
        int[] tokens = folder.Tokenizer.Encode(text[..(Context * Windows * 2)], addBos: false)[..(Context * Windows)];
        int bos = folder.Config.BosTokenId!.Value;

        // The engine's evaluation of exactly the encoded values agrees with llama.cpp running the file.
        using (var fake = new FakeQuantizedWeights(folder.Weights, encoded))
        using (var model = LlamaModel.Create(folder.Config, fake, new ModelOptions()))
        using (var session = new LlamaCppSession(compensated.Path, Context + 1))
        {
            var engine = new PerplexityEvaluator(model, new PerplexityOptions { Context = Context, BatchSize = Windows }).Evaluate(tokens);
            var judged = LlamaCppPerplexity.Evaluate(session, tokens, Context, bos);
            output.WriteLine($"{recipeName} compensated: engine perplexity {engine.Perplexity:F5}, llama.cpp {judged.Perplexity:F5}");
            Assert.True(Math.Abs(judged.Perplexity / engine.Perplexity - 1) <= 0.01, $"llama.cpp {judged.Perplexity:F4} vs engine {engine.Perplexity:F4}");
        }

        double klStock, klCompensated;
        using (var reference = new LlamaCppSession(GgufExports.Export(GgufExports.Austen, "F32").Path, Context + 1))
        {
            var judge = LlamaCppKlDivergence.Collect(reference, tokens, Context, bos);
            using (var session = new LlamaCppSession(plain.Path, Context + 1)) klStock = judge.Judge(session).KlDivergence;
            using (var session = new LlamaCppSession(compensated.Path, Context + 1)) klCompensated = judge.Judge(session).KlDivergence;
        }
        output.WriteLine($"{recipeName}: llama.cpp KL divergence from F32: stock {klStock:G4}, compensated {klCompensated:G4} ({klCompensated / klStock:F2}×)");
        Assert.True(klCompensated < maxRatio * klStock, $"{recipeName}: compensated KL {klCompensated:G4} vs stock {klStock:G4}");
    }
}
