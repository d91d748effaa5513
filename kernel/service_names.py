"""Names of the system services and of their commands, for logs, traces and the recorder.

The command names are those of libctru's client functions (``APT_GetLockHandle`` sends
APT command 0x0001, ``FSFILE_Read`` a file session's 0x0802), which follow 3dbrew's names;
the table lists every command libctru sends, implemented or not, so that a request hlemu
does not answer is reported by name. ``SYSTEM_SERVICES`` are the names the 3DS's own system
modules register with ``srv:`` (3dbrew "Services"; libctru asks for each of them).
"""

from __future__ import annotations

# Services a 3DS always has (3dbrew "Services"); srv: answers a name hlemu does not provide
# from this list at once (see kernel/services/srv.py) instead of waiting for a registration
# that never comes.
SYSTEM_SERVICES = frozenset({
    "APT:U", "APT:A", "APT:S", "Loader", "PxiPM", "ac:i", "ac:u", "act:a", "act:u", "am:app", "am:net",
    "am:sys", "am:u", "boss:P", "boss:U", "boss:M", "cam:u", "cam:s", "cdc:CHK", "cecd:u", "cecd:s",
    "cfg:i", "cfg:nor", "cfg:s", "cfg:u", "csnd:SND", "dlp:SRVR", "dlp:CLNT", "dlp:FKCL", "dsp::DSP",
    "err:f", "frd:a", "frd:n", "frd:u", "fs:LDR", "fs:REG", "fs:USER", "gsp::Gpu", "gsp::Lcd",
    "hid:SPVR", "hid:USER", "http:C", "i2c::MCU", "ir:rst", "ir:u", "ir:USER", "mcu::HWC", "mic:u",
    "mvd:STD", "ndm:u", "news:s", "news:u", "nfc:m", "nfc:u", "nim:aoc", "nim:s", "nim:u", "ns:p",
    "ns:s", "nwm::EXT", "nwm::UDS", "nwm::INF", "nwm::SOC", "pdn:c", "pdn:d", "pdn:g", "pdn:i", "pdn:s",
    "pm:app", "pm:dbg", "ps:ps", "ptm:gets", "ptm:play", "ptm:s", "ptm:sets", "ptm:sysm", "ptm:u",
    "pxi:am9", "pxi:dev", "pxi:fs0", "pxi:fs1", "pxi:mc", "pxi:ps9", "qtm:c", "qtm:s", "qtm:sp",
    "qtm:u", "soc:P", "soc:U", "ssl:C", "y2r:u", "y2r2:u", "mp:u", "gpio:CDC", "gpio:HID", "gpio:IR",
    "gpio:MCU", "gpio:NWM", "spi::CD2", "spi::CS2", "spi::CS3", "spi::DEF",
})

# Which table a port's commands are named from, when not its own name: ports offering the
# same commands under several names, and the sessions fs:USER opens on files and directories.
FAMILY = {
    "APT:U": ("APT",), "APT:A": ("APT",), "APT:S": ("APT",),
    "cfg:u": ("cfg",), "cfg:s": ("cfg",), "cfg:i": ("cfg",),
    "ptm:u": ("ptm",), "ptm:sysm": ("ptm", "ptm:sysm"),
    "hid:USER": ("hid",), "hid:SPVR": ("hid",),
    "ac:u": ("ac",), "ac:i": ("ac",),
    "fs:USER file": ("fs file",), "fs:USER directory": ("fs directory",),
}

COMMAND_NAMES: dict[str, dict[int, str]] = {
    "APT": {
        0x0001: "GetLockHandle", 0x0002: "Initialize", 0x0003: "Enable", 0x0004: "Finalize",
        0x0005: "GetAppletManInfo", 0x0006: "GetAppletInfo", 0x0009: "IsRegistered",
        0x000B: "InquireNotification", 0x000C: "SendParameter", 0x000D: "ReceiveParameter",
        0x000E: "GlanceParameter", 0x000F: "CancelParameter", 0x0016: "PreloadLibraryApplet",
        0x0017: "FinishPreloadingLibraryApplet", 0x0018: "PrepareToStartLibraryApplet",
        0x0019: "PrepareToStartSystemApplet", 0x001E: "StartLibraryApplet", 0x001F: "StartSystemApplet",
        0x0022: "PrepareToCloseApplication", 0x0023: "PrepareToJumpToApplication",
        0x0024: "JumpToApplication", 0x0027: "CloseApplication", 0x002B: "PrepareToJumpToHomeMenu",
        0x002C: "JumpToHomeMenu", 0x0031: "PrepareToDoApplicationJump", 0x0032: "DoApplicationJump",
        0x0035: "ReceiveDeliverArg", 0x003B: "CancelLibraryApplet", 0x003E: "ReplySleepQuery",
        0x003F: "ReplySleepNotificationComplete",
        0x0040: "SendCaptureBufferInfo", 0x0042: "SleepSystem", 0x0043: "NotifyToWait",
        0x0044: "GetSharedFont", 0x004B: "AppletUtility", 0x004D: "GetAppletProgramInfo",
        0x004E: "HardwareResetAsync", 0x004F: "SetAppCpuTimeLimit", 0x0050: "GetAppCpuTimeLimit",
        0x0058: "GetProgramID", 0x0101: "CheckNew3DSApp", 0x0102: "CheckNew3DS",
    },
    "fs:USER": {
        0x0401: "Control", 0x0801: "Initialize", 0x0802: "OpenFile", 0x0803: "OpenFileDirectly",
        0x0804: "DeleteFile", 0x0805: "RenameFile", 0x0806: "DeleteDirectory",
        0x0807: "DeleteDirectoryRecursively", 0x0808: "CreateFile", 0x0809: "CreateDirectory",
        0x080A: "RenameDirectory", 0x080B: "OpenDirectory", 0x080C: "OpenArchive", 0x080D: "ControlArchive",
        0x080E: "CloseArchive", 0x0812: "GetFreeBytes", 0x0813: "GetCardType",
        0x0814: "GetSdmcArchiveResource", 0x0815: "GetNandArchiveResource", 0x0816: "GetSdmcFatfsError",
        0x0817: "IsSdmcDetected", 0x0818: "IsSdmcWritable", 0x0819: "GetSdmcCid", 0x081A: "GetNandCid",
        0x081B: "GetSdmcSpeedInfo", 0x081C: "GetNandSpeedInfo", 0x081D: "GetSdmcLog", 0x081E: "GetNandLog",
        0x081F: "ClearSdmcLog", 0x0820: "ClearNandLog", 0x0821: "CardSlotIsInserted",
        0x0822: "CardSlotPowerOn", 0x0823: "CardSlotPowerOff", 0x0824: "CardSlotGetCardIFPowerStatus",
        0x0825: "CardNorDirectCommand", 0x0826: "CardNorDirectCommandWithAddress",
        0x0827: "CardNorDirectRead", 0x0828: "CardNorDirectReadWithAddress", 0x0829: "CardNorDirectWrite",
        0x082A: "CardNorDirectWriteWithAddress", 0x082B: "CardNorDirectRead_4xIO",
        0x082C: "CardNorDirectCpuWriteWithoutVerify", 0x082D: "CardNorDirectSectorEraseWithoutVerify",
        0x082E: "GetProductInfo", 0x082F: "GetProgramLaunchInfo", 0x0837: "SetCardSpiBaudRate",
        0x0838: "SetCardSpiBusMode", 0x0839: "SendInitializeInfoTo9", 0x083A: "GetSpecialContentIndex",
        0x083B: "GetLegacyRomHeader", 0x083C: "GetLegacyBannerData",
        0x083D: "CheckAuthorityToAccessExtSaveData", 0x083E: "QueryTotalQuotaSize",
        0x0840: "AbnegateAccessRight", 0x0841: "DeleteSdmcRoot", 0x0842: "DeleteAllExtSaveDataOnNand",
        0x0843: "InitializeCtrFileSystem", 0x0844: "CreateSeed", 0x0845: "GetFormatInfo",
        0x0846: "GetLegacyRomHeader2", 0x0848: "GetSdmcCtrRootPath", 0x0849: "GetArchiveResource",
        0x084A: "ExportIntegrityVerificationSeed", 0x084B: "ImportIntegrityVerificationSeed",
        0x084C: "FormatSaveData", 0x084D: "GetLegacySubBannerData", 0x084E: "UpdateSha256Context",
        0x084F: "ReadSpecialFile", 0x0850: "GetSpecialFileSize", 0x0851: "CreateExtSaveData",
        0x0852: "DeleteExtSaveData", 0x0853: "ReadExtSaveDataIcon", 0x0854: "GetExtDataBlockSize",
        0x0855: "EnumerateExtSaveData", 0x0856: "CreateSystemSaveData", 0x0857: "DeleteSystemSaveData",
        0x0858: "StartDeviceMoveAsSource", 0x0859: "StartDeviceMoveAsDestination",
        0x085A: "SetArchivePriority", 0x085B: "GetArchivePriority", 0x085C: "SetCtrCardLatencyParameter",
        0x085F: "SwitchCleanupInvalidSaveData", 0x0860: "EnumerateSystemSaveData",
        0x0861: "InitializeWithSdkVersion", 0x0862: "SetPriority", 0x0863: "GetPriority",
        0x0865: "SetSaveDataSecureValue", 0x0866: "GetSaveDataSecureValue", 0x0867: "ControlSecureSave",
        0x0868: "GetMediaType",
    },
    "fs file": {
        0x0401: "Control", 0x0801: "OpenSubFile", 0x0802: "Read", 0x0803: "Write", 0x0804: "GetSize",
        0x0805: "SetSize", 0x0806: "GetAttributes", 0x0807: "SetAttributes", 0x0808: "Close", 0x0809: "Flush",
        0x080A: "SetPriority", 0x080B: "GetPriority", 0x080C: "OpenLinkFile",
    },
    "fs directory": {
        0x0401: "Control", 0x0801: "Read", 0x0802: "Close", 0x0803: "SetPriority", 0x0804: "GetPriority",
    },
    "cfg": {
        0x0001: "GetConfigInfoBlk2", 0x0002: "SecureInfoGetRegion", 0x0003: "GenHashConsoleUnique",
        0x0004: "GetRegionCanadaUSA", 0x0005: "GetSystemModel", 0x0006: "GetModelNintendo2DS",
        0x0009: "GetCountryCodeString", 0x000A: "GetCountryCodeID", 0x000B: "IsNFCSupported",
        0x0401: "GetConfigInfoBlk4", 0x0402: "SetConfigInfoBlk4", 0x0404: "GetLocalFriendCodeSeedData",
        0x0405: "GetLocalFriendCodeSeed", 0x0408: "SecureInfoGetSerialNumber",
        0x040F: "ClearParentalControls", 0x0801: "GetConfigInfoBlk8", 0x0802: "SetConfigInfoBlk8",
        0x0803: "UpdateConfigSavegame", 0x0805: "DeleteConfigSavefile", 0x0806: "FormatConfig",
        0x080D: "RestoreLocalFriendCodeSeed", 0x080E: "VerifySigLocalFriendCodeSeed",
        0x0812: "RestoreSecureInfo", 0x0813: "VerifySigSecureInfo", 0x0814: "GetSecureInfoData",
        0x0815: "GetSecureInfoSignature",
    },
    "ptm": {
        0x0005: "GetAdapterState", 0x0006: "GetShellState", 0x0007: "GetBatteryLevel",
        0x0008: "GetBatteryChargeState", 0x0009: "GetPedometerState", 0x000B: "GetStepHistory",
        0x000C: "GetTotalStepCount",
    },
    "ptm:sysm": {
        0x0402: "ReplyToSleepQuery", 0x0403: "NotifySleepPreparationComplete", 0x0404: "SetWakeEvents",
        0x0405: "GetWakeReason", 0x0406: "RequestSleep", 0x0407: "ShutdownAsync", 0x0408: "Awaken",
        0x0409: "RebootAsync", 0x040A: "CheckNew3DS", 0x0805: "ClearStepHistory", 0x0806: "SetStepHistory",
        0x080A: "ClearPlayHistory", 0x080C: "SetUserTime", 0x080D: "InvalidateSystemTime",
        0x0816: "GetRtcTime", 0x0817: "SetRtcTime", 0x0818: "ConfigureNew3DSCPU",
    },
    "hid": {
        0x000A: "GetIPCHandles", 0x0011: "EnableAccelerometer", 0x0012: "DisableAccelerometer",
        0x0013: "EnableGyroscope", 0x0014: "DisableGyroscope", 0x0015: "GetGyroscopeRawToDpsCoefficient",
        0x0017: "GetSoundVolume",
    },
    "ir:rst": {
        0x0001: "GetHandles", 0x0002: "Initialize", 0x0003: "Shutdown",
    },
    "gsp::Gpu": {
        0x0001: "WriteHWRegs", 0x0002: "WriteHWRegsWithMask", 0x0004: "ReadHWRegs", 0x0005: "SetBufferSwap",
        0x0008: "FlushDataCache", 0x0009: "InvalidateDataCache", 0x000B: "SetLcdForceBlack",
        0x000C: "TriggerCmdReqQueue", 0x0011: "SetPerfLogMode", 0x0012: "GetPerfLog",
        0x0013: "RegisterInterruptRelayQueue", 0x0014: "UnregisterInterruptRelayQueue",
        0x0016: "AcquireRight", 0x0017: "ReleaseRight", 0x0018: "ImportDisplayCaptureInfo",
        0x0019: "SaveVramSysArea", 0x001A: "RestoreVramSysArea", 0x001B: "ResetGpuCore",
        0x001C: "SetLedForceOff",
    },
    "ndm:u": {
        0x0001: "EnterExclusiveState", 0x0002: "LeaveExclusiveState", 0x0003: "GetExclusiveState",
        0x0004: "LockState", 0x0005: "UnlockState", 0x0006: "SuspendDaemons", 0x0007: "ResumeDaemons",
        0x0008: "SuspendScheduler", 0x0009: "ResumeScheduler", 0x000A: "GetCurrentState",
        0x000D: "QueryStatus", 0x0010: "SetScanInterval", 0x0011: "GetScanInterval",
        0x0013: "GetRetryInterval", 0x0015: "ResetDaemons", 0x0016: "GetDefaultDaemons",
        0x0017: "ClearMacFilter",
    },
    "ac": {
        0x0001: "CreateDefaultConfig", 0x0004: "ConnectAsync", 0x000A: "GetLastErrorCode",
        0x000B: "GetLastDetailErrorCode", 0x000C: "GetStatus", 0x000D: "GetWifiStatus",
        0x0022: "SetAllowApType", 0x0025: "SetNetworkArea", 0x002D: "SetRequestEulaVersion",
        0x0033: "GetSecurityMode", 0x0034: "GetSSID", 0x0035: "GetSSIDLength", 0x0036: "GetProxyEnable",
        0x0038: "GetProxyPort", 0x0039: "GetProxyHost", 0x003A: "GetProxyUserName",
        0x003B: "GetProxyPassword", 0x0401: "LoadNetworkSetting",
        0x040F: "GetNetworkWirelessEssidSecuritySsid",
    },
    "srv:": {
        0x0001: "RegisterClient", 0x0002: "EnableNotification", 0x0003: "RegisterService",
        0x0004: "UnregisterService", 0x0005: "GetServiceHandle", 0x0006: "RegisterPort",
        0x0007: "UnregisterPort", 0x0008: "GetPort", 0x0009: "Subscribe",
        0x000A: "Unsubscribe", 0x000B: "ReceiveNotification", 0x000C: "PublishToSubscriber",
        0x000D: "PublishAndGetSubscriber", 0x000E: "IsServiceRegistered",
    },
}


def command_names(service: str) -> dict[int, str]:
    """Command id -> name for the port or session called ``service`` (empty when unknown)."""
    names: dict[int, str] = {}
    for family in FAMILY.get(service, (service,)):
        names.update(COMMAND_NAMES.get(family, {}))
    return names


def command_name(service: str, command_id: int) -> str:
    """The documented name of ``service``'s command ``command_id``, or ``command 0x00NN``."""
    return command_names(service).get(command_id, f"command {command_id:#06x}")
