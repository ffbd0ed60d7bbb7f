using System.Text.RegularExpressions;

namespace Optimizer.Engine.Pipeline;

/// <summary>
/// One run at a time per output folder: the run creates the folder when missing (remembering what it created), holds
/// <see cref="FileName"/> in it with an exclusive lock for its whole length (a second run fails at once with
/// <see cref="ErrorCodes.OutputLocked"/>), removes staging folders that a killed run left behind, and on dispose
/// releases the lock and removes the folders it created when they are still empty (a failed or cancelled run leaves
/// nothing behind). The kernel releases the lock of a killed process, so a stale lock file never blocks a later run.
/// </summary>
public sealed partial class OutputFolderLock : IDisposable
{
    /// <summary>The lock file's name inside the output folder.</summary>
    public const string FileName = ".outlier-opt.lock";

    private readonly FileStream _stream;
    private readonly string _path;
    private readonly IReadOnlyList<string> _created;

    private OutputFolderLock(FileStream stream, string path, IReadOnlyList<string> created)
    {
        _stream = stream;
        _path = path;
        _created = created;
    }

    /// <summary>Locks <paramref name="folder"/> (created when missing); <paramref name="shownAs"/> names it in errors.</summary>
    public static OutputFolderLock Acquire(string folder, string shownAs)
    {
        string full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder));
        var created = new List<string>();
        for (string? f = full; f is not null && !Directory.Exists(f); f = Path.GetDirectoryName(f)) created.Add(f);
        try
        {
            Directory.CreateDirectory(full);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            RemoveEmpty(created);
            throw new OptimizerException(ErrorCodes.OutputNotWritable, $"The output folder cannot be created: {ex.Message}", shownAs, inner: ex);
        }
        string path = Path.Combine(full, FileName);
        FileStream stream;
        try
        {
            // FileShare.None takes an exclusive advisory lock (flock) on Unix: a second run's open fails here.
            stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException ex)
        {
            RemoveEmpty(created);
            throw new OptimizerException(ErrorCodes.OutputLocked,
                $"Another run is writing into this output folder (it holds {FileName}); wait for it to finish or choose another folder.", shownAs, inner: ex);
        }
        catch (UnauthorizedAccessException ex)
        {
            RemoveEmpty(created);
            throw new OptimizerException(ErrorCodes.OutputNotWritable, $"The output folder is not writable: {ex.Message}", shownAs, inner: ex);
        }
        RemoveStaleStaging(full);
        return new OutputFolderLock(stream, path, created);
    }

    /// <summary>Releases the lock, deletes the lock file and the folders this run created if they are empty.</summary>
    public void Dispose()
    {
        try
        {
            File.Delete(_path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // An unlocked lock file blocks nobody.
        }
        _stream.Dispose();
        RemoveEmpty(_created);
    }

    private static void RemoveEmpty(IReadOnlyList<string> created)
    {
        foreach (string folder in created) // deepest first
        {
            try
            {
                if (Directory.Exists(folder) && !Directory.EnumerateFileSystemEntries(folder).Any()) Directory.Delete(folder);
                else return;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                return;
            }
        }
    }

    /// <summary>Staging folders (<c>.NAME.xxxxxxxx.partial</c>) and temp files of a run that was killed while writing.</summary>
    private static void RemoveStaleStaging(string folder)
    {
        foreach (string entry in Directory.EnumerateFileSystemEntries(folder, ".*"))
        {
            string name = Path.GetFileName(entry);
            try
            {
                if (StagingName().IsMatch(name) && Directory.Exists(entry)) Directory.Delete(entry, recursive: true);
                else if (TempFileName().IsMatch(name) && File.Exists(entry)) File.Delete(entry);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Left for a later run; it does not affect this one.
            }
        }
    }

    [GeneratedRegex(@"^\..+\.[0-9a-f]{8}\.partial$")]
    private static partial Regex StagingName();

    [GeneratedRegex(@"^\..+\.[0-9a-f]{8}\.tmp$")]
    private static partial Regex TempFileName();
}
