using TorchSharp;
using static TorchSharp.torch;

namespace Optimizer.Engine.Model;

/// <summary>Resolves a device name from <see cref="ModelOptions.Device"/> to a torch device, checking that libtorch loads.</summary>
internal static class DeviceSelector
{
    /// <summary>The device for <paramref name="name"/>; throws <see cref="OptimizerException"/> when it cannot be used.</summary>
    public static Device Resolve(string? name)
    {
        string value = (name ?? "cpu").Trim().ToLowerInvariant();
        bool cudaAvailable = CudaAvailable();
        if (value is "cpu") return CPU;
        if (value is "auto") return cudaAvailable ? CUDA : CPU;
        if (value == "cuda" || value.StartsWith("cuda:", StringComparison.Ordinal))
        {
            int index = 0;
            if (value.Length > 4 && (!int.TryParse(value.AsSpan(5), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out index)))
                throw new OptimizerException(ErrorCodes.DeviceInvalid, $"Device \"{name}\" is not valid; use cpu, cuda, cuda:N or auto.");
            if (!cudaAvailable)
                throw new OptimizerException(ErrorCodes.DeviceUnavailable,
                    $"Device \"{name}\" was requested but CUDA is not available to libtorch on this machine; use --device cpu or auto.");
            int count = cuda.device_count();
            if (index >= count)
                throw new OptimizerException(ErrorCodes.DeviceUnavailable, $"Device \"{name}\" does not exist; this machine has {count} CUDA device(s).");
            return new Device(DeviceType.CUDA, index);
        }
        throw new OptimizerException(ErrorCodes.DeviceInvalid, $"Device \"{name}\" is not valid; use cpu, cuda, cuda:N or auto.");
    }

    private static bool CudaAvailable()
    {
        try
        {
            return cuda.is_available();
        }
        catch (Exception ex) when (ex is DllNotFoundException or TypeInitializationException or EntryPointNotFoundException or BadImageFormatException or NotSupportedException)
        {
            throw new OptimizerException(ErrorCodes.TorchUnavailable, $"libtorch could not be loaded: {ex.GetBaseException().Message}", inner: ex);
        }
    }
}
