using Optimizer.Engine.Formats;
using Optimizer.Engine.Model;
using static TorchSharp.torch;

namespace Optimizer.Engine.Transforms;

/// <summary>How far two weight sources' logits are apart on some token sequences.</summary>
/// <param name="MaxAbs">max |logits_a − logits_b| over every sequence, position and vocabulary entry.</param>
/// <param name="ReferenceMaxAbs">max |logits_a| over the same entries.</param>
/// <param name="Relative"><see cref="MaxAbs"/> / <see cref="ReferenceMaxAbs"/> (0 when the latter is 0).</param>
/// <param name="Tokens">Token positions compared.</param>
public sealed record LogitDeltaResult(double MaxAbs, double ReferenceMaxAbs, double Relative, long Tokens);

/// <summary>
/// The verification of exact transforms (DESIGN.md §2 "Verify"): runs the same sequences through a model built on each
/// weight source (float32) and reports the largest logit difference.
/// </summary>
public static class LogitDelta
{
    /// <summary>max |Δlogit| between <paramref name="a"/> and <paramref name="b"/> (see <see cref="Measure"/>).</summary>
    public static double MaxAbs(ModelConfig config, ITensorSource a, ITensorSource b, IReadOnlyList<int[]> sequences, ModelOptions options, CancellationToken ct = default)
        => Measure(config, a, b, sequences, options, ct).MaxAbs;

    /// <summary>
    /// Runs every sequence of <paramref name="sequences"/> (any lengths, at least one token each) through models on
    /// <paramref name="a"/> (the reference) and <paramref name="b"/>, one sequence at a time. A non-finite difference
    /// is reported as +∞.
    /// </summary>
    public static LogitDeltaResult Measure(ModelConfig config, ITensorSource a, ITensorSource b, IReadOnlyList<int[]> sequences, ModelOptions options, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        ArgumentNullException.ThrowIfNull(sequences);
        ArgumentNullException.ThrowIfNull(options);
        if (sequences.Count == 0) throw new ArgumentException("At least one token sequence is needed.", nameof(sequences));
        if (sequences.Any(s => s is null || s.Length == 0)) throw new ArgumentException("Every token sequence needs at least one token.", nameof(sequences));
        using var reference = LlamaModel.Create(config, a, options);
        using var candidate = LlamaModel.Create(config, b, options);
        double maxAbs = 0, referenceMax = 0;
        long tokens = 0;
        foreach (int[] sequence in sequences)
        {
            ct.ThrowIfCancellationRequested();
            var batch = new[] { sequence };
            using Tensor la = reference.Forward(batch, null, 0, ct);
            using Tensor lb = candidate.Forward(batch, null, 0, ct);
            using var scope = NewDisposeScope();
            double delta = (la - lb).abs().max().item<float>();
            maxAbs = double.IsNaN(delta) || double.IsInfinity(delta) ? double.PositiveInfinity : Math.Max(maxAbs, delta);
            referenceMax = Math.Max(referenceMax, la.abs().max().item<float>());
            tokens += sequence.Length;
        }
        double relative = referenceMax > 0 ? maxAbs / referenceMax : 0;
        return new LogitDeltaResult(maxAbs, referenceMax, relative, tokens);
    }
}
