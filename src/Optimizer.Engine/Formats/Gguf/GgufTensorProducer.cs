namespace Optimizer.Engine.Formats.Gguf;

/// <summary>
/// Writes one tensor's bytes (exactly its byte count, little-endian, in ggml layout) to <paramref name="destination"/>.
/// Called once, when the writer reaches the tensor, so only one tensor needs to be in memory at a time.
/// </summary>
public delegate void GgufTensorProducer(Stream destination);
