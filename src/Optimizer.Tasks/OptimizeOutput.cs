namespace Optimizer.Tasks;

/// <summary>One file the tool wrote, as listed in its result file.</summary>
public sealed class OptimizeOutput
{
    /// <summary>Creates an entry.</summary>
    public OptimizeOutput(string path, string kind, long bytes, string sha256)
    {
        Path = path;
        Kind = kind;
        Bytes = bytes;
        Sha256 = sha256;
    }

    /// <summary>Absolute path.</summary>
    public string Path { get; }

    /// <summary><c>weights</c>, <c>manifest</c>, <c>config</c> or <c>tokenizer</c>.</summary>
    public string Kind { get; }

    /// <summary>Size in bytes.</summary>
    public long Bytes { get; }

    /// <summary>SHA-256 of the content, lower-case hex.</summary>
    public string Sha256 { get; }
}
