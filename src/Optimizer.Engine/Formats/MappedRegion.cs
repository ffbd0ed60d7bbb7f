using System.Runtime.InteropServices;

namespace Optimizer.Engine.Formats;

/// <summary>
/// Residency advice for read-only, file-backed memory maps (<see cref="SafetensorsFile"/>, <see cref="Gguf.GgufFile"/>).
/// After a range of mapped bytes has been consumed, <see cref="Release"/> tells the kernel that the process no longer
/// needs the pages wholly inside it (<c>madvise(MADV_DONTNEED)</c> on Linux), so they leave the process's resident set
/// instead of accumulating to the size of the whole file. The pages are clean and file-backed: a later access faults
/// them in again from the page cache (or the file) with identical contents, so results never change. On other operating
/// systems, or if the call is unavailable, the advice is skipped.
/// </summary>
internal static unsafe partial class MappedRegion
{
    /// <summary>Linux <c>MADV_DONTNEED</c> (asm-generic/mman-common.h; the same value on every Linux architecture .NET runs on).</summary>
    private const int MadvDontNeed = 4;

    private static readonly long PageSize = Environment.SystemPageSize;

    /// <summary>False once the native call turned out to be unavailable (the advice is then skipped for the process).</summary>
    private static volatile bool s_available = OperatingSystem.IsLinux();

    /// <summary>Whether <see cref="Release"/> actually advises the kernel on this system.</summary>
    internal static bool IsSupported => s_available;

    /// <summary>
    /// Drops from the resident set the pages that lie entirely inside <c>[start, start + length)</c>; the partial pages
    /// at either end are kept, as they may hold bytes of neighbouring tensors that another reader is using. Returns the
    /// number of bytes advised (0 when the range holds no whole page or advice is not supported).
    /// The range must lie inside a live, read-only, file-backed mapping whose bytes the caller has finished with.
    /// </summary>
    internal static long Release(byte* start, long length)
    {
        if (!s_available || length < PageSize) return 0;
        ulong first = ((ulong)start + (ulong)PageSize - 1) & ~((ulong)PageSize - 1);
        ulong end = ((ulong)start + (ulong)length) & ~((ulong)PageSize - 1);
        if (end <= first) return 0;
        nuint size = (nuint)(end - first);
        try
        {
            // A failure (EINVAL/ENOMEM on a range that is not mapped) only means the pages stay resident; the advice is
            // an optimization and never affects the bytes read.
            return Madvise((void*)first, size, MadvDontNeed) == 0 ? (long)size : 0;
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            s_available = false;
            return 0;
        }
    }

    [LibraryImport("libc", EntryPoint = "madvise")]
    private static partial int Madvise(void* address, nuint length, int advice);
}
