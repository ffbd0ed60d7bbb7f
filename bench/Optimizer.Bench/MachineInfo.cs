using System.Runtime.InteropServices;

namespace Optimizer.Bench;

/// <summary>What the numbers were measured on: CPU, cores, memory, load, runtime.</summary>
public static class MachineInfo
{
    /// <summary>One markdown paragraph describing the machine now.</summary>
    public static string Describe()
    {
        string cpu = ReadLine("/proc/cpuinfo", "model name")?.Split(':', 2)[1].Trim() ?? RuntimeInformation.ProcessArchitecture.ToString();
        string memory = ReadLine("/proc/meminfo", "MemTotal")?.Split(':', 2)[1].Trim() ?? "unknown";
        return $"Machine: {cpu}, {Environment.ProcessorCount} logical cores, {memory} RAM, {RuntimeInformation.OSDescription}, " +
               $".NET {Environment.Version}. Load average at this point: {Load()}. Measured {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC.";
    }

    /// <summary>The 1/5/15-minute load averages.</summary>
    public static string Load()
    {
        try
        {
            return string.Join(" / ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "unknown";
        }
    }

    private static string? ReadLine(string path, string key)
    {
        try
        {
            return File.ReadLines(path).FirstOrDefault(l => l.StartsWith(key, StringComparison.Ordinal));
        }
        catch (IOException)
        {
            return null;
        }
    }
}
