using System.Globalization;

namespace Optimizer.Engine.Pipeline;

/// <summary>How much of the candidate search <c>optimize</c> runs (<c>--search</c>; docs/quantization.md "Candidates").</summary>
public enum SearchMode
{
    /// <summary>stock, imatrix, compensated and, when transforms are kept, mitigated-imatrix (the default of <c>dotnet build</c>).</summary>
    Quick,

    /// <summary>Everything in <see cref="Quick"/>, mitigated-compensated and the awq candidates (the default of the command line).</summary>
    Full,
}

/// <summary>
/// The choice among the candidates: the winner; the rule that chose it (<see cref="CandidateSelection.LowestKl"/>,
/// <see cref="CandidateSelection.TieToSimpler"/> or <see cref="CandidateSelection.NoFiniteScore"/>); what restricted the
/// choice (<c>mitigations</c>, <c>imatrix</c>, both comma-joined, or null); the better candidate the restriction excluded
/// (or null); and the same in words with the scores, for people (<see cref="Reason"/>, <see cref="Warning"/>). The
/// manifest keeps only the first four, which are the same on every CPU.
/// </summary>
public sealed record SelectionResult(string Selected, string Rule, string? Constraint, string? BetterExcluded, string Reason, string? Warning);

/// <summary>
/// Never ship a worse file (docs/quantization.md "Candidates"): every candidate was scored on the held-out evaluation
/// text, which is not the calibration text; the primary metric is the mean KL divergence from the original. The
/// winner is the simplest candidate whose KL divergence is within <see cref="TieTolerance"/> of the lowest. What the user
/// named explicitly is honoured: with a <c>--mitigations</c> list that kept transforms only mitigated candidates may win,
/// with <c>--imatrix</c> only candidates quantized with it; the result then warns when another one scored better.
/// </summary>
public static class CandidateSelection
{
    /// <summary>Candidates within this relative margin of the lowest KL divergence tie; the simpler one wins.</summary>
    public const double TieTolerance = 0.01;

    /// <summary>The rule: the winner has the lowest KL divergence.</summary>
    public const string LowestKl = "lowest-kl";

    /// <summary>The rule: the winner is within the tolerance of the lowest and simpler.</summary>
    public const string TieToSimpler = "tie-to-simpler";

    /// <summary>The rule: no candidate had a finite score; the simplest was written.</summary>
    public const string NoFiniteScore = "no-finite-score";

    /// <summary>KL divergences this close (nats/token) always tie: float rounding of identical files, far below any quantization error.</summary>
    public const double AbsoluteTie = 1e-7;

    /// <summary>
    /// Chooses among the <see cref="VariantResult.Candidate"/> variants of <paramref name="variants"/>; returns the
    /// variants with <see cref="VariantResult.Selected"/> set on the winner, and the choice.
    /// </summary>
    public static (IReadOnlyList<VariantResult> Variants, SelectionResult Selection) Choose(IReadOnlyList<VariantResult> variants, bool mitigationsExplicit,
        bool imatrixExplicit = false)
    {
        ArgumentNullException.ThrowIfNull(variants);
        var candidates = variants.Where(v => v.Candidate).OrderBy(v => v.Simplicity).ToArray();
        if (candidates.Length == 0) throw new ArgumentException("No candidates to choose from.", nameof(variants));
        bool requireMitigated = mitigationsExplicit && candidates.Any(c => c.Mitigated);
        bool requireImatrix = imatrixExplicit && candidates.Any(c => c.Imatrix && (c.Mitigated || !requireMitigated));
        var eligible = candidates.Where(c => (!requireMitigated || c.Mitigated) && (!requireImatrix || c.Imatrix)).ToArray();
        var finite = eligible.Where(c => double.IsFinite(c.KlDivergence)).ToArray();
        VariantResult winner;
        string reason, rule;
        if (finite.Length == 0)
        {
            winner = eligible[0];
            rule = NoFiniteScore;
            reason = "no candidate has a finite KL divergence; the simplest one is written";
        }
        else
        {
            double best = finite.Min(c => c.KlDivergence);
            VariantResult lowest = finite.First(c => c.KlDivergence == best);
            // A KL divergence of identical models can come out as a float-rounding −1e-9; the margin is never negative.
            double margin = Math.Abs(best) * TieTolerance + AbsoluteTie;
            winner = finite.First(c => c.KlDivergence <= best + margin);
            VariantResult? stock = candidates.FirstOrDefault(c => c.Simplicity == candidates[0].Simplicity);
            string versus = stock is not null && !ReferenceEquals(stock, winner) && stock.KlDivergence > 0
                ? $" ({Ratio(winner.KlDivergence / stock.KlDivergence)} the KL divergence of {stock.Name})"
                : "";
            rule = ReferenceEquals(winner, lowest) ? LowestKl : TieToSimpler;
            reason = ReferenceEquals(winner, lowest)
                ? $"lowest KL divergence on the held-out text: {Number(winner.KlDivergence)}{versus}"
                : $"within {TieTolerance:P0} of the lowest KL divergence ({lowest.Name}: {Number(lowest.KlDivergence)}) and simpler: {Number(winner.KlDivergence)}{versus}";
            if (requireMitigated) reason += "; only mitigated candidates were eligible (explicit --mitigations)";
            if (requireImatrix) reason += "; only candidates quantized with the given importance matrix were eligible (--imatrix)";
        }
        string? warning = null, betterExcluded = null;
        if (requireMitigated || requireImatrix)
        {
            VariantResult? better = candidates.Where(c => !eligible.Contains(c) && double.IsFinite(c.KlDivergence))
                .OrderBy(c => c.KlDivergence).FirstOrDefault();
            if (better is not null && better.KlDivergence + Math.Abs(better.KlDivergence) * TieTolerance + AbsoluteTie < winner.KlDivergence)
            {
                betterExcluded = better.Name;
                string what = requireMitigated && !better.Mitigated ? "without mitigations" : "without the given importance matrix";
                string leave = requireMitigated && !better.Mitigated ? "--mitigations" : "--imatrix";
                warning = $"The explicit {leave} was honoured, but candidate '{better.Name}' {what} scored better "
                    + $"(KL divergence {Number(better.KlDivergence)} vs {Number(winner.KlDivergence)} for '{winner.Name}'); leave {leave} out to let it win.";
            }
        }
        var marked = variants.Select(v => v.Candidate ? v with { Selected = v.Name == winner.Name } : v).ToArray();
        string? constraint = (requireMitigated, requireImatrix) switch
        {
            (true, true) => "mitigations,imatrix",
            (true, false) => "mitigations",
            (false, true) => "imatrix",
            _ => null,
        };
        return (marked, new SelectionResult(winner.Name, rule, constraint, betterExcluded, reason, warning));
    }

    // A KL divergence of identical files can come out as −1e-9 in float arithmetic; people see 0.
    private static string Number(double value) => Math.Max(0, value).ToString("G4", CultureInfo.InvariantCulture);

    private static string Ratio(double value) => value.ToString("0.00", CultureInfo.InvariantCulture) + "×";
}
