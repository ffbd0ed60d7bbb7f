using System.Security.Cryptography;
using Optimizer.Engine.Formats;

namespace Optimizer.Engine.Manifest;

/// <summary>SHA-256 of the files a manifest names (model files; calibration files are hashed when they are read).</summary>
public static class ModelFileHashes
{
    /// <summary>The lower-case hex SHA-256 of a file, read in a streaming pass.</summary>
    public static string Sha256(string path)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
            return Convert.ToHexStringLower(SHA256.HashData(stream));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new OptimizerException(ErrorCodes.FileUnreadable, $"The file cannot be read: {ex.Message}", path, inner: ex);
        }
    }

    /// <summary>The model folder's files as manifest entries: path relative to the folder with <c>/</c>, size, hash; sorted by path.</summary>
    public static IReadOnlyList<ManifestFile> Describe(ModelFolder folder, CancellationToken cancellation = default)
    {
        var files = new List<ManifestFile>(folder.Files.Count);
        foreach (ModelFileEntry entry in folder.Files)
        {
            cancellation.ThrowIfCancellationRequested();
            string full = Path.Combine(folder.Path, entry.RelativePath);
            files.Add(new ManifestFile(entry.RelativePath.Replace('\\', '/'), entry.Size, Sha256(full)));
        }
        return files.OrderBy(f => f.Path, StringComparer.Ordinal).ToArray();
    }
}
