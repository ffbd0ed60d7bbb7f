using System.Runtime.InteropServices;

namespace Optimizer.Engine.Formats;

/// <summary>What a path names on disk, following symbolic links.</summary>
public enum FileKindValue
{
    /// <summary>Nothing (or a dangling link).</summary>
    Missing,

    /// <summary>A regular file.</summary>
    Regular,

    /// <summary>A folder.</summary>
    Directory,

    /// <summary>A named pipe (FIFO): reading it blocks until a writer appears.</summary>
    Fifo,

    /// <summary>A character device (/dev/zero, /dev/urandom, a terminal): reading it may never end.</summary>
    CharacterDevice,

    /// <summary>A block device.</summary>
    BlockDevice,

    /// <summary>A Unix socket.</summary>
    Socket,
}

/// <summary>
/// The kind of file a path names, from <c>stat(2)</c> on Linux (the only system whose libtorch the engine ships), so that
/// inputs can be refused before they are opened: opening a FIFO for reading blocks until a writer appears, and
/// /dev/zero or /dev/urandom never end. On other systems every existing non-folder counts as regular.
/// </summary>
public static partial class FileKind
{
    /// <summary>The kind of <paramref name="path"/> (symbolic links followed).</summary>
    public static FileKindValue Of(string path)
    {
        if (Directory.Exists(path)) return FileKindValue.Directory;
        if (!File.Exists(path)) return FileKindValue.Missing;
        if (!OperatingSystem.IsLinux()) return FileKindValue.Regular;
        return Mode(path) is uint mode ? FromMode(mode) : FileKindValue.Regular;
    }

    /// <summary>How a message names <paramref name="kind"/>.</summary>
    public static string Describe(FileKindValue kind) => kind switch
    {
        FileKindValue.Missing => "missing",
        FileKindValue.Regular => "a regular file",
        FileKindValue.Directory => "a folder",
        FileKindValue.Fifo => "a named pipe (FIFO)",
        FileKindValue.CharacterDevice => "a character device",
        FileKindValue.BlockDevice => "a block device",
        FileKindValue.Socket => "a socket",
        _ => kind.ToString(),
    };

    /// <summary>
    /// Fails with <see cref="ErrorCodes.InputNotRegularFile"/> unless <paramref name="path"/> is a regular file (a missing
    /// file fails with <paramref name="missingCode"/>). <paramref name="what"/> names the input in the message.
    /// </summary>
    public static void RequireRegular(string path, string what, string missingCode, string? shownAs = null)
    {
        FileKindValue kind = Of(path);
        if (kind == FileKindValue.Regular) return;
        if (kind == FileKindValue.Missing)
            throw new OptimizerException(missingCode, $"The {what} does not exist.", shownAs ?? path);
        throw new OptimizerException(ErrorCodes.InputNotRegularFile,
            $"The {what} is {Describe(kind)}, not a regular file; only regular files are read.", shownAs ?? path);
    }

    internal static FileKindValue FromMode(uint mode) => (mode & 0xF000) switch
    {
        0x8000 => FileKindValue.Regular,
        0x4000 => FileKindValue.Directory,
        0x1000 => FileKindValue.Fifo,
        0x2000 => FileKindValue.CharacterDevice,
        0x6000 => FileKindValue.BlockDevice,
        0xC000 => FileKindValue.Socket,
        _ => FileKindValue.Regular,
    };

    // struct stat: st_mode is at byte 24 on x86-64 (st_dev, st_ino, st_nlink are 8 bytes each) and at byte 16 on arm64
    // (st_nlink is 4 bytes and follows st_mode). glibc 2.33+ exports stat; older ones only __xstat(_STAT_VER = 1 or 0).
    private static unsafe uint? Mode(string path)
    {
        int offset = RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 => 24,
            Architecture.Arm64 => 16,
            _ => -1,
        };
        if (offset < 0) return null;
        byte* buffer = stackalloc byte[512];
        int rc;
        try
        {
            rc = Stat(path, buffer);
        }
        catch (EntryPointNotFoundException)
        {
            rc = XStat(RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 1 : 0, path, buffer);
        }
        return rc == 0 ? *(uint*)(buffer + offset) : null;
    }

    [LibraryImport("libc", EntryPoint = "stat", StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int Stat(string path, byte* buffer);

    [LibraryImport("libc", EntryPoint = "__xstat", StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int XStat(int version, string path, byte* buffer);
}
