#nullable enable
// Compiled by MSBuild's RoslynCodeTaskFactory (see LibTorchSharpVersionNeeds.targets).
// Flags as weak (VER_FLG_WEAK) the version needs on libstdc++.so.6 that the system's libstdc++ does not define,
// in copies of ELF64 little-endian shared libraries inside a build output folder.
using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

public class WeakenMissingLibStdCxxVersionNeeds : Task
{
    private const uint ShtGnuVerneed = 0x6ffffffe;
    private const ushort VerFlagWeak = 0x2;

    private static readonly string[] LibStdCxxCandidates =
    {
        "/usr/lib/x86_64-linux-gnu/libstdc++.so.6",
        "/lib/x86_64-linux-gnu/libstdc++.so.6",
        "/usr/lib64/libstdc++.so.6",
        "/lib64/libstdc++.so.6",
        "/usr/lib/libstdc++.so.6",
    };

    [Required]
    public ITaskItem[] Files { get; set; } = Array.Empty<ITaskItem>();

    public override bool Execute()
    {
        string? systemLib = null;
        foreach (var candidate in LibStdCxxCandidates)
        {
            if (File.Exists(candidate)) { systemLib = candidate; break; }
        }
        if (systemLib is null)
        {
            Log.LogMessage(MessageImportance.Low, "No system libstdc++.so.6 found; libLibTorchSharp.so left unchanged.");
            return true;
        }
        string systemText = Encoding.ASCII.GetString(File.ReadAllBytes(systemLib));

        foreach (var item in Files)
        {
            string path = item.ItemSpec;
            try
            {
                byte[] elf = File.ReadAllBytes(path);
                var weakened = Weaken(elf, version => systemText.IndexOf(version + "\0", StringComparison.Ordinal) < 0);
                if (weakened.Count == 0)
                {
                    Log.LogMessage(MessageImportance.Low, $"{path}: every libstdc++ version need is defined by {systemLib} (or already weak).");
                    continue;
                }
                string temp = path + ".weaken.tmp";
                File.WriteAllBytes(temp, elf);
                File.Replace(temp, path, null);
                Log.LogMessage(MessageImportance.Normal,
                    $"{path}: flagged weak the version needs {string.Join(", ", weakened)} that {systemLib} does not define.");
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidDataException)
            {
                Log.LogError(null, "OOPT2900", null, path, 0, 0, 0, 0,
                    $"Could not adjust the libstdc++ version needs of this copy of libLibTorchSharp.so: {ex.Message}");
            }
        }
        return !Log.HasLoggedErrors;
    }

    /// <summary>Sets VER_FLG_WEAK on each libstdc++ version need for which <paramref name="isMissing"/> is true.</summary>
    private static List<string> Weaken(byte[] elf, Func<string, bool> isMissing)
    {
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
            throw new InvalidDataException("not an ELF file");
        if (elf[4] != 2 || elf[5] != 1)
            throw new InvalidDataException("not a 64-bit little-endian ELF file");

        long shoff = checked((long)BitConverter.ToUInt64(elf, 0x28));
        int shentsize = BitConverter.ToUInt16(elf, 0x3A);
        int shnum = BitConverter.ToUInt16(elf, 0x3C);
        var result = new List<string>();
        for (int i = 0; i < shnum; i++)
        {
            long sh = checked(shoff + (long)i * shentsize);
            Require(elf, sh, 64);
            if (BitConverter.ToUInt32(elf, (int)sh + 4) != ShtGnuVerneed) continue;
            long verneedOffset = checked((long)BitConverter.ToUInt64(elf, (int)sh + 0x18));
            uint link = BitConverter.ToUInt32(elf, (int)sh + 0x28);
            uint count = BitConverter.ToUInt32(elf, (int)sh + 0x2C);
            long strtab = checked(shoff + (long)link * shentsize);
            Require(elf, strtab, 64);
            long strOffset = checked((long)BitConverter.ToUInt64(elf, (int)strtab + 0x18));

            long vn = verneedOffset;
            for (uint n = 0; n < count; n++)
            {
                Require(elf, vn, 16);
                int auxCount = BitConverter.ToUInt16(elf, (int)vn + 2);
                string file = ReadString(elf, strOffset + BitConverter.ToUInt32(elf, (int)vn + 4));
                long aux = vn + BitConverter.ToUInt32(elf, (int)vn + 8);
                for (int a = 0; a < auxCount; a++)
                {
                    Require(elf, aux, 16);
                    ushort flags = BitConverter.ToUInt16(elf, (int)aux + 4);
                    string name = ReadString(elf, strOffset + BitConverter.ToUInt32(elf, (int)aux + 8));
                    if (file.StartsWith("libstdc++.so", StringComparison.Ordinal) && (flags & VerFlagWeak) == 0 && isMissing(name))
                    {
                        ushort weak = (ushort)(flags | VerFlagWeak);
                        elf[aux + 4] = (byte)(weak & 0xff);
                        elf[aux + 5] = (byte)(weak >> 8);
                        result.Add(name);
                    }
                    uint next = BitConverter.ToUInt32(elf, (int)aux + 12);
                    if (next == 0) break;
                    aux += next;
                }
                uint vnNext = BitConverter.ToUInt32(elf, (int)vn + 12);
                if (vnNext == 0) break;
                vn += vnNext;
            }
        }
        return result;
    }

    private static void Require(byte[] elf, long offset, int length)
    {
        if (offset < 0 || offset + length > elf.Length) throw new InvalidDataException($"ELF structure at offset {offset} lies outside the file");
    }

    private static string ReadString(byte[] elf, long offset)
    {
        Require(elf, offset, 1);
        int end = Array.IndexOf(elf, (byte)0, (int)offset);
        if (end < 0) throw new InvalidDataException("unterminated ELF string");
        return Encoding.ASCII.GetString(elf, (int)offset, end - (int)offset);
    }
}
