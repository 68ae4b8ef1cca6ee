"""Routes for plans and packs, Stripe Checkout and portal sessions, and Stripe's signed events."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.concurrency import run_in_threadpool

from app.accounts.auth import CurrentAccount
from app.billing import service
from app.billing.errors import BillingDisabled
from app.billing.products import load_products
from app.billing.schemas import CheckoutIn, PackOut, PlanOut, PlansOut, RedirectOut
from app.config import Settings
from app.runtime import DbSession, RuntimeDep

router = APIRouter(prefix="/v1/billing", tags=["billing"])
_DISABLED: dict[int | str, dict[str, Any]] = {
    503: {"description": "Billing is not configured (`billing_disabled`)"}
}


def _enabled_settings(runtime: RuntimeDep) -> Settings:
    """The settings, when billing is configured (503 `billing_disabled` otherwise)."""
    if not runtime.settings.stripe_secret_key:
        raise BillingDisabled()
    return runtime.settings


BillingSettings = Annotated[Settings, Depends(_enabled_settings)]


@router.get(
    "/plans",
    response_model=PlansOut,
    summary="Plans and credit packs for sale",
    description="Empty lists when billing is not configured: nothing is for sale, which is not an error.",
)
def list_plans(runtime: RuntimeDep) -> PlansOut:
    settings = runtime.settings
    if not settings.stripe_secret_key:
        return PlansOut(plans=[], packs=[])
    catalog = load_products(settings.billing_catalog)
    return PlansOut(
        plans=[PlanOut.model_validate(p, from_attributes=True) for p in catalog.plans],
        packs=[PackOut.model_validate(p, from_attributes=True) for p in catalog.packs],
    )


@router.post(
    "/checkout",
    response_model=RedirectOut,
    summary="Start a Stripe Checkout for a plan or a pack",
    responses={
        **_DISABLED,
        422: {"description": "Unknown plan or pack"},
        502: {"description": "Stripe error"},
    },
)
def checkout(
    body: CheckoutIn, account: CurrentAccount, session: DbSession, settings: BillingSettings
) -> RedirectOut:
    catalog = load_products(settings.billing_catalog)
    return RedirectOut(url=service.create_checkout(session, settings, catalog, account, body.plan, body.pack))


@router.post(
    "/portal",
    response_model=RedirectOut,
    summary="A Stripe customer-portal link to manage the subscription",
    responses={**_DISABLED, 409: {"description": "Nothing bought yet"}},
)
def portal(account: CurrentAccount, session: DbSession, settings: BillingSettings) -> RedirectOut:
    return RedirectOut(url=service.create_portal(session, settings, account))


@router.post(
    "/stripe-webhook",
    summary="Stripe events (signed with the endpoint's secret)",
    responses={**_DISABLED, 400: {"description": "Bad signature (`invalid_signature`); nothing applied"}},
)
async def stripe_webhook(
    request: Request,
    session: DbSession,
    settings: BillingSettings,
    stripe_signature: Annotated[str | None, Header()] = None,
) -> dict[str, bool]:
    payload = await request.body()
    # The exact bytes Stripe signed are needed, hence async; the database work runs off the event loop.
    applied = await run_in_threadpool(
        service.receive_event,
        session,
        settings,
        load_products(settings.billing_catalog),
        payload,
        stripe_signature,
    )
    return {"received": True, "applied": applied}
