namespace Optimizer.Engine.Formats.HfExport;

/// <summary>Progress of an export: <paramref name="Done"/> of <paramref name="Total"/> model tensors written, the last being <paramref name="Tensor"/>.</summary>
public sealed record HfExportProgress(int Done, int Total, string Tensor);
