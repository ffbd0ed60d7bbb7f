using System.Runtime.InteropServices;

namespace Optimizer.Engine.Formats;

/// <summary>
/// The files a run reads, by their real paths (symbolic links and relative parts resolved), so that no output can
/// name one of them: writing an output never deletes or replaces an input (docs/errors.md, OOPT1032).
/// </summary>
public sealed class InputSet
{
    private readonly Dictionary<string, string> _files = new(StringComparer.Ordinal);

    /// <summary>Adds one input file (ignored when it does not exist; it will fail where it is read).</summary>
    public InputSet AddFile(string path)
    {
        if (File.Exists(path)) _files.TryAdd(OutputPaths.RealPath(path), path);
        return this;
    }

    /// <summary>Adds a file, or every file below a folder (calibration folders).</summary>
    public InputSet AddPath(string path)
    {
        if (Directory.Exists(path))
        {
            try
            {
                foreach (string file in Directory.EnumerateFiles(path, "*", new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true }))
                    AddFile(file);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Unreadable parts fail later, where the folder is read, with their own message.
            }
        }
        else
        {
            AddFile(path);
        }
        return this;
    }

    /// <summary>Adds the files a model is read from (config, weights, tokenizer; the .gguf file).</summary>
    public InputSet AddModel(ModelFolder model)
    {
        foreach (ModelFileEntry file in model.Files) AddFile(Path.Combine(model.Path, file.RelativePath));
        return this;
    }

    /// <summary>The input (as given) whose real path is <paramref name="realPath"/>, if any.</summary>
    public string? Find(string realPath) => _files.GetValueOrDefault(realPath);

    /// <summary>The input (as given) that lies inside the folder whose real path is <paramref name="realFolder"/>, if any.</summary>
    public string? FindInside(string realFolder)
    {
        string prefix = realFolder.EndsWith('/') ? realFolder : realFolder + "/";
        return _files.Where(p => p.Key.StartsWith(prefix, StringComparison.Ordinal)).Select(p => p.Value).Order(StringComparer.Ordinal).FirstOrDefault();
    }
}

/// <summary>
/// Checks output paths before any work starts: an output must not be an input (OOPT1032), must not be a folder or a
/// special file where a file is written, and its folder must exist (or be creatable, for output folders) and be
/// writable (OOPT1030) — a read-only file system, a parent that is a file or a missing folder fail in milliseconds,
/// not after hours of analysis.
/// </summary>
public static partial class OutputPaths
{
    /// <summary>
    /// Checks that a file can be written at <paramref name="path"/> by this run. <paramref name="what"/> names the
    /// output in messages (e.g. "manifest", "result file").
    /// </summary>
    public static void CheckFile(string path, InputSet inputs, string what, bool folderMayBeCreated = false)
    {
        string full = Path.GetFullPath(path);
        if (Path.EndsInDirectorySeparator(path) || full.EndsWith('/'))
            throw new OptimizerException(ErrorCodes.OutputNotWritable, $"The {what} must be a file path, not a folder.", path);
        string real = RealPath(full);
        if (inputs.Find(real) is { } input)
            throw new OptimizerException(ErrorCodes.OutputIsInput,
                $"The {what} would overwrite {input}, which this run reads; choose another path.", path);
        FileKindValue kind = FileKind.Of(full);
        if (kind == FileKindValue.Directory)
            throw new OptimizerException(ErrorCodes.OutputNotWritable, $"The {what} path is a folder; give a file path.", path);
        if (kind is not (FileKindValue.Missing or FileKindValue.Regular))
            throw new OptimizerException(ErrorCodes.OutputNotWritable, $"The {what} path is {FileKind.Describe(kind)}; only regular files are written.", path);
        string folder = Path.GetDirectoryName(full) ?? "/";
        RequireWritableFolder(folder, path, what, mayCreate: folderMayBeCreated);
    }

    /// <summary>
    /// Checks that <paramref name="folder"/> can hold this run's outputs: it is a folder (or can be created: its nearest
    /// existing ancestor is a writable folder) and writable.
    /// </summary>
    public static void CheckFolder(string folder, string what) =>
        RequireWritableFolder(Path.GetFullPath(folder), folder, what, mayCreate: true);

    /// <summary>Checks that a folder that this run will replace as a whole holds no input.</summary>
    public static void CheckReplacedFolder(string folder, InputSet inputs, string what)
    {
        string full = Path.GetFullPath(folder);
        FileKindValue kind = FileKind.Of(full);
        if (kind == FileKindValue.Missing) return;
        if (kind != FileKindValue.Directory)
            throw new OptimizerException(ErrorCodes.OutputNotWritable, $"The {what} path is {FileKind.Describe(kind)}, where a folder is written.", folder);
        if (inputs.FindInside(RealPath(full)) is { } input)
            throw new OptimizerException(ErrorCodes.OutputIsInput,
                $"The {what} {folder} would be replaced, but it holds {input}, which this run reads; choose another output folder or name.", folder);
    }

    private static void RequireWritableFolder(string full, string shownAs, string what, bool mayCreate)
    {
        string existing = full;
        while (!Directory.Exists(existing))
        {
            if (File.Exists(existing))
                throw new OptimizerException(ErrorCodes.OutputNotWritable,
                    $"The {what} cannot be written: {existing} is a file, not a folder.", shownAs);
            if (!mayCreate)
                throw new OptimizerException(ErrorCodes.OutputNotWritable,
                    $"The folder of the {what} does not exist: {existing}. Create it first.", shownAs);
            string? parent = Path.GetDirectoryName(existing);
            if (parent is null) break;
            existing = parent;
        }
        // A probe file shows what permissions alone do not (a read-only file system, a full quota of inodes).
        string probe = Path.Combine(existing, ".outlier-opt-" + Guid.NewGuid().ToString("N")[..8] + ".probe");
        try
        {
            using (new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose)) { }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new OptimizerException(ErrorCodes.OutputNotWritable,
                $"The {what} cannot be written: the folder {existing} is not writable ({ex.Message}).", shownAs, inner: ex);
        }
    }

    /// <summary>
    /// The canonical path of <paramref name="path"/>: links and relative parts resolved; for a path that does not exist
    /// (yet), the canonical path of its nearest existing ancestor followed by the remaining names.
    /// </summary>
    public static string RealPath(string path)
    {
        string full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS()) return full;
        var rest = new Stack<string>();
        string current = full;
        while (true)
        {
            if (File.Exists(current) || Directory.Exists(current))
            {
                string? resolved = Resolve(current);
                if (resolved is not null) return rest.Aggregate(resolved, Path.Combine);
            }
            string? parent = Path.GetDirectoryName(current);
            if (parent is null) return full;
            rest.Push(Path.GetFileName(current));
            current = parent;
        }
    }

    private static string? Resolve(string path)
    {
        nint result = RealPathNative(path, 0);
        if (result == 0) return null;
        try
        {
            return Marshal.PtrToStringUTF8(result);
        }
        finally
        {
            Free(result);
        }
    }

    [LibraryImport("libc", EntryPoint = "realpath", StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint RealPathNative(string path, nint resolved);

    [LibraryImport("libc", EntryPoint = "free")]
    private static partial void Free(nint pointer);
}
