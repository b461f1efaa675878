; Inno Setup 6 script for the Windows installer of ChatKit Desk.
;
; Build (on Windows, from the repository root, after the bundle):
;   .venv\Scripts\python packaging\make_icons.py
;   .venv\Scripts\python packaging\build_bundle.py
;   "%ProgramFiles(x86)%\Inno Setup 6\ISCC.exe" /DAppVersion=0.1.0 packaging\windows\chatkit-desk.iss
; → dist\chatkit-desk-<version>-windows-setup.exe
;
; Not built or run on the Linux machine where this was written: CI builds it (.github/workflows/
; build.yml). Installs per user by default (no admin prompt; "Install for all users" is offered),
; adds a Start menu entry that starts the tray, and no login item: the app adds its own Run-key
; value when the user turns on "Start at login", and the uninstaller removes that value.

#ifndef AppVersion
  #define AppVersion "0.0.0"
#endif
#define AppName "ChatKit Desk"
#define AppExe "chatkit-desk.exe"

[Setup]
AppId={{8E6C3F0B-6B1F-4C55-9C0E-4B2B6C7D1A11}
AppName={#AppName}
AppVersion={#AppVersion}
AppPublisher=ChatKit Desk
AppPublisherURL=https://github.com/chatkit-desk/chatkit-desk
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
SourceDir=..\..
OutputDir=dist
OutputBaseFilename=chatkit-desk-{#AppVersion}-windows-setup
SetupIconFile=packaging\windows\chatkit-desk.ico
UninstallDisplayIcon={app}\{#AppExe}
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
; the tray (and its server child) may be running: ask Windows' Restart Manager to close it
CloseApplications=yes
RestartApplications=no

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "dist\chatkit-desk\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\{#AppExe}"; Parameters: "tray"; WorkingDir: "{app}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; Parameters: "tray"; WorkingDir: "{app}"; Tasks: desktopicon

[Run]
Filename: "{app}\{#AppExe}"; Parameters: "tray"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent

[UninstallRun]
; stop a running tray and its server child so their files can be removed
Filename: "{sys}\taskkill.exe"; Parameters: "/F /T /IM {#AppExe}"; Flags: runhidden; RunOnceId: "StopChatKitDesk"

[Code]
procedure CurUninstallStepChanged(CurUninstallStep: TUninstallStep);
begin
  if CurUninstallStep = usPostUninstall then
    { the login item the app itself creates (desktop/autostart.py: RunKeyAutostart) }
    RegDeleteValue(HKEY_CURRENT_USER, 'Software\Microsoft\Windows\CurrentVersion\Run', '{#AppName}');
end;
