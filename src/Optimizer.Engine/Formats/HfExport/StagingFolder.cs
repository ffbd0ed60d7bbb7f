namespace Optimizer.Engine.Formats.HfExport;

/// <summary>
/// A hidden temporary folder beside an output folder, filled completely and then renamed into place
/// (<see cref="Commit"/>). An existing output folder is moved aside only once the new one is complete, and deleted after
/// the new one took its name; if that rename fails the old folder is put back. Disposing an uncommitted staging folder
/// deletes it, so a failed export leaves the target as it was and no temporary folder behind.
/// </summary>
internal sealed class StagingFolder : IDisposable
{
    private bool _committed;

    private StagingFolder(string target, string path)
    {
        Target = target;
        Path = path;
    }

    /// <summary>The full path of the output folder.</summary>
    public string Target { get; }

    /// <summary>The full path of the temporary folder being filled.</summary>
    public string Path { get; }

    /// <summary>
    /// Creates the staging folder for <paramref name="target"/>, whose parent must exist and be writable
    /// (<see cref="ErrorCodes.OutputNotWritable"/>); an existing file at the target is <see cref="ErrorCodes.HfExportOutputInvalid"/>.
    /// </summary>
    public static StagingFolder Create(string target)
    {
        string full = System.IO.Path.TrimEndingDirectorySeparator(System.IO.Path.GetFullPath(target));
        string? parent = System.IO.Path.GetDirectoryName(full);
        string name = System.IO.Path.GetFileName(full);
        if (parent is null || name.Length == 0)
            throw new OptimizerException(ErrorCodes.HfExportOutputInvalid, "The output must be a folder below some parent folder, not a file-system root.", target);
        if (System.IO.File.Exists(full))
            throw new OptimizerException(ErrorCodes.HfExportOutputInvalid, "The output path is an existing file; the export writes a folder.", target);
        if (!Directory.Exists(parent))
            throw new OptimizerException(ErrorCodes.OutputNotWritable, $"The folder that should hold the output does not exist: {parent}", target);
        string path = System.IO.Path.Combine(parent, "." + name + "." + Guid.NewGuid().ToString("N")[..8] + ".tmp");
        try
        {
            Directory.CreateDirectory(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new OptimizerException(ErrorCodes.OutputNotWritable, $"Cannot create the output folder here: {ex.Message}", target, inner: ex);
        }
        return new StagingFolder(full, path);
    }

    /// <summary>The path of <paramref name="relative"/> inside the staging folder.</summary>
    public string File(string relative) => System.IO.Path.Combine(Path, relative);

    /// <summary>Renames the staging folder to the target, replacing an existing target folder.</summary>
    public void Commit()
    {
        ObjectDisposedException.ThrowIf(_committed, this);
        string? aside = null;
        try
        {
            if (Directory.Exists(Target))
            {
                aside = System.IO.Path.Combine(System.IO.Path.GetDirectoryName(Target)!,
                    "." + System.IO.Path.GetFileName(Target) + "." + Guid.NewGuid().ToString("N")[..8] + ".old");
                Directory.Move(Target, aside);
            }
            try
            {
                Directory.Move(Path, Target);
            }
            catch
            {
                if (aside is not null) Directory.Move(aside, Target);
                aside = null;
                throw;
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new OptimizerException(ErrorCodes.OutputNotWritable, $"Cannot move the finished output into place: {ex.Message}", Target, inner: ex);
        }
        _committed = true;
        if (aside is not null) TryDelete(aside);
    }

    /// <summary>Deletes the staging folder unless it was committed.</summary>
    public void Dispose()
    {
        if (!_committed) TryDelete(Path);
    }

    private static void TryDelete(string folder)
    {
        try
        {
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
    }
}
