namespace Optimizer.Engine.Formats.Gguf;

/// <summary>
/// The stream a <see cref="GgufTensorProducer"/> writes to: forwards to the file and refuses to go past the tensor's
/// byte count, so a faulty producer cannot corrupt the tensors after it.
/// </summary>
internal sealed class BoundedWriteStream : Stream
{
    private readonly Stream _inner;
    private readonly long _limit;
    private readonly string _tensor;

    public BoundedWriteStream(Stream inner, long limit, string tensor)
    {
        _inner = inner;
        _limit = limit;
        _tensor = tensor;
    }

    /// <summary>Bytes written so far.</summary>
    public long Written { get; private set; }

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => Written;
    public override long Position { get => Written; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        if (buffer.Length > _limit - Written)
            throw new OptimizerException(ErrorCodes.GgufExportInvalid,
                $"Tensor '{_tensor}' produced more than its {_limit} bytes.");
        _inner.Write(buffer);
        Written += buffer.Length;
    }

    public override void WriteByte(byte value) => Write(new ReadOnlySpan<byte>(in value));
}
