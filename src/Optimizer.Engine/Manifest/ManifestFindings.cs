namespace Optimizer.Engine.Manifest;

/// <summary>The <c>findings</c> section: massive activations, their families, super weights, COs and OTCs.</summary>
public sealed record ManifestFindings(
    IReadOnlyList<MassiveActivationRecord> MassiveActivations,
    IReadOnlyList<BirthRecord> Births,
    IReadOnlyList<PropagationRecord> Propagation,
    IReadOnlyList<SuperWeightRecord> SuperWeights,
    IReadOnlyList<ChannelOutlierRecord> ChannelOutliers,
    IReadOnlyList<OtcRecord> OutlierTriggeringChannels,
    IReadOnlyList<NearThresholdRecord> NearThreshold)
{
    /// <summary>No findings at all.</summary>
    public static ManifestFindings Empty { get; } = new(
        Array.Empty<MassiveActivationRecord>(), Array.Empty<BirthRecord>(), Array.Empty<PropagationRecord>(),
        Array.Empty<SuperWeightRecord>(), Array.Empty<ChannelOutlierRecord>(), Array.Empty<OtcRecord>(),
        Array.Empty<NearThresholdRecord>());

    /// <summary>At most this many <c>near_threshold</c> entries are written.</summary>
    public const int MaxNearThreshold = 64;
}

/// <summary>
/// One massive-activation occurrence (<c>findings.massive_activations[]</c>). <see cref="Ratio"/> is null when the
/// token's median |x| at the site is 0 (the ratio is unbounded).
/// </summary>
public sealed record MassiveActivationRecord(
    int Layer,
    string Site,
    long TokenIndex,
    int TokenPosition,
    int TokenId,
    string TokenText,
    int Channel,
    double Value,
    double? Ratio,
    string Kind)
{
    /// <summary>Where the MA family first appears (and the same layer's sites through which it enters the residual).</summary>
    public const string Birth = "birth";

    /// <summary>Created inside a block after the birth, not carried in by the residual.</summary>
    public const string Tma = "tma";

    /// <summary>Carried in by the residual connection.</summary>
    public const string Propagated = "propagated";

    /// <summary>The kinds, in the order the schema lists them.</summary>
    public static IReadOnlyList<string> Kinds { get; } = new[] { Birth, Tma, Propagated };
}

/// <summary>The birth of one MA family (token, residual channel) (<c>findings.births[]</c>).</summary>
public sealed record BirthRecord(int Layer, string Site, int Channel, int ResidualChannel, int TokenPosition, int TokenId, double Value);

/// <summary>The layers over which a residual channel carries an MA (<c>findings.propagation[]</c>).</summary>
public sealed record PropagationRecord(int Channel, IReadOnlyList<int> TokenPositions, int FirstLayer, int LastLayer, double MaxAbs);

/// <summary>A down_proj entry that routes a birth-site y6 value into the MA's residual channel (<c>findings.super_weights[]</c>).</summary>
public sealed record SuperWeightRecord(int Layer, string Tensor, int Row, int Column, double Weight, double Y6Value, double Contribution, double Share);

/// <summary>Which W_q row or column explains a channel outlier (<c>findings.channel_outliers[].otc</c>).</summary>
public sealed record OtcReference(string Reading, int Index);

/// <summary>A channel-wise outlier at one site, with its attributed cause (<c>findings.channel_outliers[]</c>).</summary>
public sealed record ChannelOutlierRecord(
    int Layer,
    string Site,
    int Channel,
    double MedianAbs,
    double Ratio,
    double TokenFraction,
    string Cause,
    double? GammaRatio,
    OtcReference? Otc)
{
    /// <summary>The pre-γ input is flat in the channel and |γ_j| is an outlier.</summary>
    public const string Gamma = "gamma";

    /// <summary>An OTC of W_q explains it.</summary>
    public const string OtcCause = "otc";

    /// <summary>The channel carries an MA or CO of the residual stream into the site.</summary>
    public const string Residual = "residual";

    /// <summary>None of the above.</summary>
    public const string Unknown = "unknown";

    /// <summary>The causes, in the order the schema lists them.</summary>
    public static IReadOnlyList<string> Causes { get; } = new[] { Gamma, OtcCause, Residual, Unknown };
}

/// <summary>An outlier-triggering channel of W_q (<c>findings.outlier_triggering_channels[]</c>).</summary>
public sealed record OtcRecord(int Layer, string Tensor, string Reading, int Index, int? RopePair, double Score)
{
    /// <summary>Reading A: an output channel (row) of W_q whose q output is a CO.</summary>
    public const string Row = "row";

    /// <summary>Reading B: an input channel (column) whose contribution dominates.</summary>
    public const string Column = "column";

    /// <summary>The readings, in sort order.</summary>
    public static IReadOnlyList<string> Readings { get; } = new[] { Row, Column };
}

/// <summary>An entry that reached a fraction of the MA thresholds without passing them (<c>findings.near_threshold[]</c>).</summary>
public sealed record NearThresholdRecord(
    int Layer,
    string Site,
    long TokenIndex,
    int TokenPosition,
    int TokenId,
    string TokenText,
    int Channel,
    double Value,
    double? Ratio,
    string Criterion)
{
    /// <summary>The absolute test failed (the relative one passed).</summary>
    public const string AbsoluteCriterion = "absolute";

    /// <summary>The relative test failed (the absolute one passed).</summary>
    public const string RelativeCriterion = "relative";

    /// <summary>Both tests failed.</summary>
    public const string BothCriteria = "both";

    /// <summary>The criteria, in the order the schema lists them.</summary>
    public static IReadOnlyList<string> Criteria { get; } = new[] { AbsoluteCriterion, RelativeCriterion, BothCriteria };
}
