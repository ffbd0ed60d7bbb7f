namespace Optimizer.Engine.Transforms;

/// <summary>The mitigations a transform plan can contain (CLI <c>--mitigations</c>, DESIGN.md §2 "Transform").</summary>
[Flags]
public enum Mitigation
{
    /// <summary><c>none</c>.</summary>
    None = 0,

    /// <summary><c>norm</c>: γ flattening folded into the norm's consumers (exact; PAPER-NOTES M2).</summary>
    Norm = 1,

    /// <summary><c>smooth</c>: SmoothQuant smoothing of q/k/v, gate/up, down and o/v with α searched per group for W8A8 (exact; docs/smoothing.md).</summary>
    Smooth = 2,

    /// <summary><c>otc</c>: q/k row balancing over RoPE pairs and GQA groups (exact; PAPER-NOTES M3 reading A).</summary>
    Otc = 4,

    /// <summary><c>tma</c>: y6 smoothing, up_proj rows into down_proj columns (exact; PAPER-NOTES M1).</summary>
    Tma = 8,

    /// <summary><c>tma-clamp</c>: shrinking up_proj rows of TMA neurons without compensation (approximate).</summary>
    TmaClamp = 16,

    /// <summary><c>all</c>: every mitigation of the command line.</summary>
    All = Norm | Smooth | Otc | Tma | TmaClamp,

    /// <summary>
    /// <c>awq</c>: activation-aware scaling of the four input groups for a weight-only target (exact; docs/quantization.md
    /// "Activation-aware scaling"). Planned by the candidate search of <c>optimize</c>, not part of <c>all</c> and not a
    /// <c>--mitigations</c> name: it rescales the same groups as <c>smooth</c> for another target, so the two exclude each other.
    /// </summary>
    Awq = 32,
}

/// <summary>CLI names of <see cref="Mitigation"/> values and their canonical order.</summary>
public static class Mitigations
{
    /// <summary>The single mitigations in the order plans apply them.</summary>
    public static IReadOnlyList<Mitigation> Ordered { get; } = new[] { Mitigation.Norm, Mitigation.Smooth, Mitigation.Otc, Mitigation.Tma, Mitigation.TmaClamp, Mitigation.Awq };

    /// <summary>The CLI name of a single mitigation: <c>norm</c>, <c>smooth</c>, <c>otc</c>, <c>tma</c> or <c>tma-clamp</c>.</summary>
    public static string Id(Mitigation mitigation) => mitigation switch
    {
        Mitigation.Norm => "norm",
        Mitigation.Smooth => "smooth",
        Mitigation.Otc => "otc",
        Mitigation.Tma => "tma",
        Mitigation.TmaClamp => "tma-clamp",
        Mitigation.Awq => "awq",
        _ => throw new ArgumentOutOfRangeException(nameof(mitigation), mitigation, "Not a single mitigation."),
    };

    /// <summary>Whether the mitigation leaves the model's function unchanged (up to float rounding).</summary>
    public static bool IsExact(Mitigation mitigation) => mitigation != Mitigation.TmaClamp;

    /// <summary>The canonical list text of a set: <c>none</c>, or the names in <see cref="Ordered"/> order joined by commas.</summary>
    public static string ToList(Mitigation set)
    {
        var names = Ordered.Where(m => (set & m) != 0).Select(Id).ToArray();
        return names.Length == 0 ? "none" : string.Join(",", names);
    }

    /// <summary>
    /// Parses a comma-separated list of <c>norm</c>, <c>smooth</c>, <c>otc</c>, <c>tma</c>, <c>tma-clamp</c>, or one of
    /// <c>all</c> / <c>none</c> (case-insensitive, spaces around items ignored, repeats allowed). An unknown or empty item,
    /// or <c>none</c> next to anything else, fails with <see cref="ErrorCodes.MitigationListInvalid"/> naming it.
    /// </summary>
    public static Mitigation Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string[] items = text.Split(',');
        Mitigation set = Mitigation.None;
        bool none = false, other = false;
        foreach (string raw in items)
        {
            string item = raw.Trim().ToLowerInvariant();
            Mitigation one = item switch
            {
                "all" => Mitigation.All,
                "none" => Mitigation.None,
                "norm" => Mitigation.Norm,
                "smooth" => Mitigation.Smooth,
                "otc" => Mitigation.Otc,
                "tma" => Mitigation.Tma,
                "tma-clamp" => Mitigation.TmaClamp,
                "" => throw new OptimizerException(ErrorCodes.MitigationListInvalid,
                    $"The mitigation list '{text}' has an empty item; use a comma-separated list of norm, smooth, otc, tma, tma-clamp, or all / none."),
                _ => throw new OptimizerException(ErrorCodes.MitigationListInvalid,
                    $"Unknown mitigation '{raw.Trim()}' in '{text}'; known: norm, smooth, otc, tma, tma-clamp, all, none."),
            };
            if (item == "none") none = true;
            else other = true;
            set |= one;
        }
        if (none && other)
            throw new OptimizerException(ErrorCodes.MitigationListInvalid, $"The mitigation list '{text}' combines 'none' with other mitigations.");
        return set;
    }
}
