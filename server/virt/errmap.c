/* errmap: libvirt errors -> err kinds with client-safe sentences.
 *
 * libvirt's messages name paths, XML and internals, so they never reach a
 * client: the detail is built from the error code and what we were doing,
 * and libvirt's own text goes to the on_log sink for the server log. */
#include "virt_priv.h"

#include <stdio.h>

int
virt_last_code(void)
{
    virErrorPtr ve = virGetLastError();
    return ve ? ve->code : VIR_ERR_OK;
}

struct code_map {
    int code;
    enum err_kind kind;
    const char *why; /* follows "<what we were doing>: " */
};

static const struct code_map code_map[] = {
    {VIR_ERR_NO_DOMAIN, ERR_NOT_FOUND, "the VM does not exist"},
    {VIR_ERR_NO_DOMAIN_SNAPSHOT, ERR_NOT_FOUND, "the snapshot does not exist"},
    {VIR_ERR_NO_STORAGE_POOL, ERR_NOT_FOUND, "the storage pool does not exist"},
    {VIR_ERR_NO_STORAGE_VOL, ERR_NOT_FOUND, "the storage volume does not exist"},
    {VIR_ERR_NO_NETWORK, ERR_NOT_FOUND, "the network does not exist"},
    {VIR_ERR_OPERATION_INVALID, ERR_CONFLICT, "not possible in the VM's current state"},
    {VIR_ERR_DOM_EXIST, ERR_CONFLICT, "a VM with this name or UUID already exists"},
    {VIR_ERR_STORAGE_VOL_EXIST, ERR_CONFLICT, "the storage volume already exists"},
    {VIR_ERR_OPERATION_ABORTED, ERR_CONFLICT, "the operation was cancelled"},
    {VIR_ERR_CPU_INCOMPATIBLE, ERR_CONFLICT, "the target host's CPU is not compatible"},
    {VIR_ERR_NO_SUPPORT, ERR_INVALID, "not supported by this host's hypervisor driver"},
    {VIR_ERR_ARGUMENT_UNSUPPORTED, ERR_INVALID, "not supported by this host's hypervisor driver"},
    {VIR_ERR_CONFIG_UNSUPPORTED, ERR_INVALID, "the host does not support this configuration"},
    {VIR_ERR_INVALID_ARG, ERR_INVALID, "the host refused the arguments"},
    {VIR_ERR_XML_ERROR, ERR_INVALID, "the host refused the configuration"},
    {VIR_ERR_XML_DETAIL, ERR_INVALID, "the host refused the configuration"},
    {VIR_ERR_NO_CONNECT, ERR_UNAVAILABLE, "the host is not reachable"},
    /* on an open connection a system error is the host's OS refusing, not a
     * network problem (those come as RPC / NO_CONNECT) */
    {VIR_ERR_SYSTEM_ERROR, ERR_INTERNAL, "the host reported a system error"},
    {VIR_ERR_OPERATION_FAILED, ERR_INTERNAL, "the hypervisor could not complete it"},
    {VIR_ERR_RPC, ERR_UNAVAILABLE, "the connection to the host failed"},
    {VIR_ERR_AUTH_FAILED, ERR_UNAVAILABLE, "authentication to the host failed"},
    {VIR_ERR_OPERATION_TIMEOUT, ERR_UNAVAILABLE, "the host did not answer in time"},
    {VIR_ERR_AGENT_UNRESPONSIVE, ERR_UNAVAILABLE, "the guest agent did not answer"},
    {VIR_ERR_OPERATION_UNSUPPORTED, ERR_INVALID, "not supported by this host's hypervisor driver"},
};

void
virt_host_log(struct vhost *host, const char *what, const char *msg)
{
    if (!host || !host->owner->sinks.on_log)
        return;
    char line[1024];
    snprintf(line, sizeof(line), "%s: %s", what, msg ? msg : "(no libvirt message)");
    host->owner->sinks.on_log(host->owner->sinks.ctx, host->id, line);
}

int
virt_fail(struct vhost *host, err *e, const char *what)
{
    virErrorPtr ve = virGetLastError();
    int code = ve ? ve->code : VIR_ERR_OK;
    virt_host_log(host, what, ve ? ve->message : NULL);
    for (size_t i = 0; i < sizeof(code_map) / sizeof(code_map[0]); i++)
        if (code_map[i].code == code)
            return err_set(e, code_map[i].kind, "%s: %s", what, code_map[i].why);
    return err_set(e, ERR_INTERNAL, "%s failed (libvirt error %d)", what, code);
}

const char *
virt_open_error_text(int code)
{
    switch (code) {
    case VIR_ERR_AUTH_FAILED:
    case VIR_ERR_AUTH_CANCELLED:
    case VIR_ERR_AUTH_UNAVAILABLE:
        return "authentication to the host failed";
    case VIR_ERR_NO_CONNECT:
    case VIR_ERR_SYSTEM_ERROR:
        return "cannot reach the host's libvirt daemon";
    case VIR_ERR_RPC:
        return "protocol error while talking to the host";
    case VIR_ERR_OPERATION_TIMEOUT:
        return "the host did not answer in time";
    case VIR_ERR_NO_SUPPORT:
        return "no libvirt driver can handle this URI";
    case VIR_ERR_XML_ERROR:
    case VIR_ERR_XML_DETAIL:
    case VIR_ERR_INTERNAL_ERROR:
        return "the host could not be opened (invalid inventory or internal error)";
    default:
        return "the connection to the host failed";
    }
}
