using System.Diagnostics;
using Optimizer.Engine.Model;
using static TorchSharp.torch;

namespace Optimizer.Engine.Evaluation;

/// <summary>
/// Compares candidate models (quantized, transformed, fake-quantized activations …) with a reference model on one text:
/// perplexity of each, mean KL divergence of the next-token distributions and top-1 agreement. The text is windowed and
/// batched exactly as by <see cref="PerplexityEvaluator"/>. Each batch runs through the reference once and through every
/// candidate once; the head and log-softmax are applied over chunks of positions, and each chunk of reference
/// log-probabilities is compared with every candidate, so [B, T, V] log-probabilities never exist at once. Per-position
/// values are summed in float64 in text order: the same models and tokens give bit-identical results.
/// </summary>
public static class ModelComparison
{
    // Vocabulary-sized elements per chunk of positions (4 Mi: 32 MiB as float64).
    private const long DefaultChunkElements = 1L << 22;

    /// <summary>
    /// Compares every candidate with <paramref name="reference"/> over <paramref name="tokens"/> (text tokens without BOS;
    /// BOS is the reference config's). Candidates must share the reference's vocabulary size and BOS id
    /// (<see cref="ErrorCodes.ModelsNotComparable"/>); a text too short to score fails with <see cref="ErrorCodes.TextTooShort"/>.
    /// </summary>
    public static IReadOnlyList<ComparisonResult> Compare(LlamaModel reference, IReadOnlyList<(string Name, LlamaModel Model)> candidates,
        IReadOnlyList<int> tokens, PerplexityOptions? options = null, IProgress<EvalProgress>? progress = null, CancellationToken ct = default)
        => Compare(reference, candidates, tokens, options, progress, DefaultChunkElements, ct);

    /// <summary><see cref="Compare(LlamaModel, IReadOnlyList{ValueTuple{string, LlamaModel}}, IReadOnlyList{int}, PerplexityOptions?, IProgress{EvalProgress}?, CancellationToken)"/> with a chosen chunk budget (tests).</summary>
    internal static IReadOnlyList<ComparisonResult> Compare(LlamaModel reference, IReadOnlyList<(string Name, LlamaModel Model)> candidates,
        IReadOnlyList<int> tokens, PerplexityOptions? options, IProgress<EvalProgress>? progress, long chunkElements, CancellationToken ct)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(chunkElements);
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(candidates);
        ArgumentNullException.ThrowIfNull(tokens);
        options ??= new PerplexityOptions();
        EvalWindows.Validate(options);
        CheckComparable(reference, candidates);
        int? bos = options.PrefixBos ? reference.Config.BosTokenId : null;
        EvalWindows windows = EvalWindows.Build(tokens, options.Context, bos);

        var watch = Stopwatch.StartNew();
        var totals = new Totals[candidates.Count];
        for (int c = 0; c < totals.Length; c++) totals[c] = new Totals();
        double referenceNll = 0;
        long scored = 0;
        foreach (var (start, count) in windows.Batches(options.BatchSize))
        {
            ct.ThrowIfCancellationRequested();
            var batch = CompareBatch(reference, candidates, windows, start, count, chunkElements, ct);
            foreach (double v in batch.ReferenceNll) referenceNll += v;
            for (int c = 0; c < totals.Length; c++) totals[c].Add(batch.Candidates[c]);
            scored += batch.ReferenceNll.Length;
            progress?.Report(new EvalProgress(start + count, windows.Inputs.Count, scored, watch.Elapsed));
        }

        double referencePerplexity = Math.Exp(referenceNll / scored);
        var results = new ComparisonResult[candidates.Count];
        for (int c = 0; c < results.Length; c++)
        {
            Totals t = totals[c];
            results[c] = new ComparisonResult(candidates[c].Name, Math.Exp(t.Nll / scored), referencePerplexity, t.Kl / scored,
                (double)t.Agree / scored, scored);
        }
        return results;
    }

    private static void CheckComparable(LlamaModel reference, IReadOnlyList<(string Name, LlamaModel Model)> candidates)
    {
        foreach (var (name, model) in candidates)
        {
            ArgumentNullException.ThrowIfNull(name, nameof(candidates));
            ArgumentNullException.ThrowIfNull(model, nameof(candidates));
            if (model.Config.VocabSize != reference.Config.VocabSize)
                throw new OptimizerException(ErrorCodes.ModelsNotComparable,
                    $"Candidate '{name}' has a vocabulary of {model.Config.VocabSize} tokens; the reference has {reference.Config.VocabSize}.");
            if (model.Config.BosTokenId != reference.Config.BosTokenId)
                throw new OptimizerException(ErrorCodes.ModelsNotComparable,
                    $"Candidate '{name}' has BOS id {Show(model.Config.BosTokenId)}; the reference has {Show(reference.Config.BosTokenId)}.");
        }
    }

    private static string Show(int? id) => id?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none";

    /// <summary>Per-position values of one batch, batch-major ([b, t] at b·(L−1)+t).</summary>
    private sealed record BatchValues(double[] ReferenceNll, CandidateValues[] Candidates);

    private sealed record CandidateValues(double[] Nll, double[] Kl, bool[] Agree);

    private static BatchValues CompareBatch(LlamaModel reference, IReadOnlyList<(string Name, LlamaModel Model)> candidates,
        EvalWindows windows, int start, int count, long chunkElements, CancellationToken ct)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        Tensor ids = windows.ToTensor(start, count);
        long batch = count, scoredPerRow = ids.shape[1] - 1;
        Device device = reference.TorchDevice;
        Tensor referenceHidden = reference.FinalHidden(ids, ct);
        var candidateHidden = new Tensor[candidates.Count];
        for (int c = 0; c < candidates.Count; c++) candidateHidden[c] = candidates[c].Model.FinalHidden(ids, ct);
        Tensor targets = ids.to(ScalarType.Int64, device).narrow(1, 1, scoredPerRow);

        int cells = checked((int)(batch * scoredPerRow));
        var referenceNll = new double[cells];
        var values = new CandidateValues[candidates.Count];
        for (int c = 0; c < values.Length; c++) values[c] = new CandidateValues(new double[cells], new double[cells], new bool[cells]);

        long chunk = Math.Max(1, chunkElements / (batch * reference.Config.VocabSize));
        for (long from = 0; from < scoredPerRow; from += chunk)
        {
            ct.ThrowIfCancellationRequested();
            long n = Math.Min(chunk, scoredPerRow - from);
            using var step = NewDisposeScope();
            Tensor target = targets.narrow(1, from, n).unsqueeze(-1);
            Tensor referenceLogProbs = reference.HeadLogits(referenceHidden.narrow(1, from, n)).log_softmax(-1);
            Scatter(referenceLogProbs.gather(-1, target).squeeze(-1).neg(), referenceNll, from, n, scoredPerRow);
            Tensor referenceTop = referenceLogProbs.argmax(-1);
            Tensor referenceWide = referenceLogProbs.to(ScalarType.Float64);
            Tensor referenceProbs = referenceWide.exp();
            for (int c = 0; c < candidates.Count; c++)
            {
                using var inner = NewDisposeScope();
                Tensor logProbs = candidates[c].Model.HeadLogits(candidateHidden[c].narrow(1, from, n)).log_softmax(-1).to(device);
                Scatter(logProbs.gather(-1, target).squeeze(-1).neg(), values[c].Nll, from, n, scoredPerRow);
                Tensor kl = (referenceProbs * (referenceWide - logProbs.to(ScalarType.Float64))).sum(-1);
                Scatter(kl, values[c].Kl, from, n, scoredPerRow);
                Tensor agree = logProbs.argmax(-1).eq(referenceTop);
                Scatter(agree.to(ScalarType.Float64), values[c].Agree, from, n, scoredPerRow);
            }
        }
        return new BatchValues(referenceNll, values);
    }

    /// <summary>Copies a [B, n] tensor into positions <paramref name="from"/>… of each row of a batch-major array.</summary>
    private static void Scatter(Tensor values, double[] target, long from, long n, long rowLength)
    {
        using Tensor cpu = values.to(ScalarType.Float64, CPU).contiguous();
        double[] data = cpu.data<double>().ToArray();
        long rows = data.Length / n;
        for (long b = 0; b < rows; b++) Array.Copy(data, b * n, target, b * rowLength + from, n);
    }

    private static void Scatter(Tensor values, bool[] target, long from, long n, long rowLength)
    {
        using Tensor cpu = values.to(ScalarType.Float64, CPU).contiguous();
        double[] data = cpu.data<double>().ToArray();
        long rows = data.Length / n;
        for (long b = 0; b < rows; b++)
        {
            for (long t = 0; t < n; t++) target[b * rowLength + from + t] = data[b * n + t] != 0;
        }
    }

    /// <summary>One candidate's running sums (float64, added in text order).</summary>
    private sealed class Totals
    {
        public double Nll;
        public double Kl;
        public long Agree;

        public void Add(CandidateValues batch)
        {
            foreach (double v in batch.Nll) Nll += v;
            foreach (double v in batch.Kl) Kl += v;
            foreach (bool a in batch.Agree) if (a) Agree++;
        }
    }
}
