using System.Buffers.Binary;
using System.Diagnostics;
using System.Security.Cryptography;
using Optimizer.Engine.Calibration;
using Optimizer.Engine.Formats;
using Optimizer.Engine.Manifest;
using Optimizer.Engine.Model;

namespace Optimizer.Engine.Pipeline;

/// <summary>
/// The held-out text every variant is scored on: the user's <c>--eval-text</c> file (its first
/// <see cref="OptimizeOptions.EvalTokens"/> tokens), or — when none is given — text sampled from the original model with
/// <see cref="OptimizeOptions.EffectiveEvalSeed"/>, a seed different from the calibration's, so the evaluation does not
/// score the calibration text. The manifest records which (<c>evaluation.text</c>).
/// </summary>
/// <param name="Record">The manifest's description of the text.</param>
/// <param name="Tokens">The text tokens (no BOS; the comparison adds it per window).</param>
/// <param name="Context">Text tokens per evaluation window.</param>
public sealed record EvaluationText(EvaluationTextRecord Record, IReadOnlyList<int> Tokens, int Context)
{
    /// <summary>Reads or samples the evaluation text of <paramref name="folder"/>.</summary>
    public static EvaluationText Build(ModelFolder folder, OptimizeOptions options, ModelOptions modelOptions, int context,
        IProgress<OptimizeProgress>? progress, Stopwatch watch, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(folder);
        ArgumentNullException.ThrowIfNull(options);
        if (options.EvalText is { } path)
        {
            string shownAs = Path.IsPathRooted(path) ? Path.GetFileName(path) : path.Replace('\\', '/');
            if (!File.Exists(path))
                throw new OptimizerException(ErrorCodes.CalibrationPathMissing, "The evaluation text file does not exist.", path);
            var (text, bytes, sha256) = Utf8TextFile.Read(path, path, "evaluation text");
            int[] all = folder.Tokenizer.Encode(text, addBos: false);
            int[] tokens = all.Length > options.EvalTokens ? all[..options.EvalTokens] : all;
            if (tokens.Length < 2)
                throw new OptimizerException(ErrorCodes.TextTooShort, $"The evaluation text has {tokens.Length} token(s); at least 2 are needed.", path);
            return new EvaluationText(
                new EvaluationTextRecord(ManifestCalibration.TextSource, new[] { new ManifestFile(shownAs, bytes, sha256) }, null, tokens.Length, context, Hash(tokens)),
                tokens, context);
        }

        // Self-sampled: sequences of BOS + context tokens, BOS dropped, concatenated in order.
        int perSequence = context;
        int sequences = Math.Max(1, (options.EvalTokens + perSequence - 1) / perSequence);
        ulong seed = options.EffectiveEvalSeed;
        var sampling = new CalibrationOptions { Seed = seed, SequenceLength = perSequence + 1, Tokens = sequences * (perSequence + 1) };
        CalibrationSet set;
        using (var llama = LlamaModel.Create(folder.Config, folder.Weights, modelOptions))
        {
            var report = progress is null ? null : new SamplingReport(p => progress.Report(new OptimizeProgress("eval-text", p.Done, p.Total, "tokens", watch.Elapsed)));
            set = SelfSampler.Sample(llama, folder.Tokenizer.BosId, sampling, report, ct);
        }
        var sampled = new List<int>(sequences * perSequence);
        foreach (int[] sequence in set.Sequences) sampled.AddRange(set.Bos ? sequence.AsSpan(1).ToArray() : sequence);
        if (sampled.Count > options.EvalTokens) sampled.RemoveRange(options.EvalTokens, sampled.Count - options.EvalTokens);
        int[] sampledTokens = sampled.ToArray();
        return new EvaluationText(
            new EvaluationTextRecord(ManifestCalibration.SelfSampledSource, Array.Empty<ManifestFile>(), checked((long)seed), sampledTokens.Length, context, Hash(sampledTokens)),
            sampledTokens, context);
    }

    /// <summary>SHA-256 of the token ids as int32 little-endian.</summary>
    public static string Hash(IReadOnlyList<int> tokens)
    {
        var buffer = new byte[tokens.Count * 4];
        for (int i = 0; i < tokens.Count; i++) BinaryPrimitives.WriteInt32LittleEndian(buffer.AsSpan(i * 4), tokens[i]);
        return Convert.ToHexStringLower(SHA256.HashData(buffer));
    }

    private sealed class SamplingReport(Action<SamplingProgress> report) : IProgress<SamplingProgress>
    {
        public void Report(SamplingProgress value) => report(value);
    }
}
