namespace Optimizer.FixtureTrainer.Corpus;

/// <summary>
/// A value read from R's serialization format. Only the kinds the corpus needs are modelled; each carries its
/// attributes (a pairlist in R) as an ordered name/value list.
/// </summary>
internal abstract class RValue
{
    /// <summary>Attributes in serialization order (names, class, dim, ...).</summary>
    public IReadOnlyList<KeyValuePair<string, RValue>> Attributes { get; set; } = Array.Empty<KeyValuePair<string, RValue>>();

    /// <summary>The attribute called <paramref name="name"/>, or null.</summary>
    public RValue? Attribute(string name)
    {
        foreach (var kv in Attributes)
        {
            if (kv.Key == name) return kv.Value;
        }
        return null;
    }

    /// <summary>A short description for error messages.</summary>
    public abstract string Describe();
}

/// <summary>R's <c>NULL</c>.</summary>
internal sealed class RNull : RValue
{
    public static readonly RNull Instance = new();
    public override string Describe() => "NULL";
}

/// <summary>A symbol (SYMSXP), e.g. an attribute or element tag.</summary>
internal sealed class RSymbol(string name) : RValue
{
    public string Name { get; } = name;
    public override string Describe() => $"symbol '{Name}'";
}

/// <summary>A character vector (STRSXP); <c>NA_character_</c> elements are null.</summary>
internal sealed class RStrings(string?[] values) : RValue
{
    public string?[] Values { get; } = values;
    public override string Describe() => $"character vector of {Values.Length}";
}

/// <summary>An integer (INTSXP) or logical (LGLSXP) vector; NA is <see cref="int.MinValue"/>.</summary>
internal sealed class RInts(int[] values, bool logical) : RValue
{
    public int[] Values { get; } = values;
    public bool IsLogical { get; } = logical;
    public override string Describe() => $"{(IsLogical ? "logical" : "integer")} vector of {Values.Length}";
}

/// <summary>A double vector (REALSXP).</summary>
internal sealed class RDoubles(double[] values) : RValue
{
    public double[] Values { get; } = values;
    public override string Describe() => $"double vector of {Values.Length}";
}

/// <summary>A generic vector (VECSXP, R's <c>list</c>).</summary>
internal sealed class RList(RValue[] items) : RValue
{
    public RValue[] Items { get; } = items;

    /// <summary>The element whose <c>names</c> attribute entry is <paramref name="name"/>, or null.</summary>
    public RValue? Element(string name)
    {
        if (Attribute("names") is RStrings names)
        {
            for (int i = 0; i < names.Values.Length && i < Items.Length; i++)
            {
                if (names.Values[i] == name) return Items[i];
            }
        }
        return null;
    }

    public override string Describe() => $"list of {Items.Length}";
}

/// <summary>A pairlist (LISTSXP) flattened into tagged elements.</summary>
internal sealed class RPairList(IReadOnlyList<KeyValuePair<string?, RValue>> items) : RValue
{
    public IReadOnlyList<KeyValuePair<string?, RValue>> Items { get; } = items;
    public override string Describe() => $"pairlist of {Items.Count}";
}
