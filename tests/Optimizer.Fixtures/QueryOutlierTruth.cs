namespace Optimizer.Fixtures;

/// <summary>Ground truth of planted OTCs in one layer's q_proj.</summary>
/// <param name="Layer">Decoder layer.</param>
/// <param name="Reading"><c>rows</c> (reading A) or <c>columns</c> (reading B).</param>
/// <param name="Tensor">The q_proj weight's tensor name.</param>
/// <param name="Site">Always <c>attn.q</c> (q_proj output): reading A makes the q output channels of the rows outliers; in reading B the
/// scaled columns make the products of those attn.y2 channels dominate q.</param>
/// <param name="Head">Query head of reading A; -1 for reading B.</param>
/// <param name="Pairs">RoPE pair indices i of reading A (rows h·d + i and h·d + i + d/2); empty for reading B.</param>
/// <param name="Rows">Scaled rows (both members of each pair), ascending; empty for reading B.</param>
/// <param name="Columns">Scaled input columns, ascending; empty for reading A.</param>
/// <param name="Scale">The factor applied.</param>
/// <param name="BiasScaled">Whether the q bias entries of the rows were scaled too (qwen2, reading A).</param>
public sealed record QueryOutlierTruth(
    int Layer,
    string Reading,
    string Tensor,
    string Site,
    int Head,
    IReadOnlyList<int> Pairs,
    IReadOnlyList<int> Rows,
    IReadOnlyList<int> Columns,
    double Scale,
    bool BiasScaled);
