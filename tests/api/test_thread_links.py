"""Deleting a deal, lead, project or person removes the thread links to it, and nothing else."""
from __future__ import annotations

from sqlalchemy import func, select

from backend.models import MailThread, ThreadLink


def _thread(services, account, subject="Re: order") -> int:
    with services.db.session() as session:
        thread = MailThread(company_id=account.company_id, owner_id=account.user_id, subject=subject,
                            normalized_subject=subject.lower())
        session.add(thread)
        session.flush()
        return thread.id


def _link(services, account, thread_id, item_type, item_id) -> int:
    with services.db.session() as session:
        link = ThreadLink(company_id=account.company_id, thread_id=thread_id, item_type=item_type,
                          item_id=item_id, origin="manual", reason="test")
        session.add(link)
        session.flush()
        return link.id


def _links(services) -> set[tuple[int, str, int]]:
    with services.db.session() as session:
        return {(l.thread_id, l.item_type, l.item_id) for l in session.scalars(select(ThreadLink))}


def test_deleting_an_item_removes_its_thread_links(client, services, acme, linked_resource, create,
                                                   unique_body):
    res = linked_resource
    doomed = create(res, acme, **unique_body(res))
    kept = create(res, acme, **unique_body(res))
    t1, t2 = _thread(services, acme), _thread(services, acme, "Other")
    _link(services, acme, t1, res.link_type, doomed["id"])
    _link(services, acme, t2, res.link_type, doomed["id"])
    _link(services, acme, t1, res.link_type, kept["id"])
    # A link of another type that happens to carry the same number stays.
    other_type = "project" if res.link_type != "project" else "deal"
    _link(services, acme, t2, other_type, doomed["id"])

    assert client.delete(res.item_url(doomed["id"]), headers=acme.auth).status_code == 200

    assert _links(services) == {(t1, res.link_type, kept["id"]), (t2, other_type, doomed["id"])}
    with services.db.session() as session:  # the threads themselves stay
        assert session.scalar(select(func.count()).select_from(MailThread)) == 2


def test_deleting_leaves_another_companys_links_alone(client, services, acme, globex, linked_resource,
                                                      create):
    res = linked_resource
    doomed = create(res, acme)
    theirs = _thread(services, globex)
    _link(services, globex, theirs, res.link_type, doomed["id"])
    mine = _thread(services, acme)
    _link(services, acme, mine, res.link_type, doomed["id"])

    assert client.delete(res.item_url(doomed["id"]), headers=acme.auth).status_code == 200

    assert _links(services) == {(theirs, res.link_type, doomed["id"])}


def test_a_refused_delete_keeps_the_links(client, services, acme, globex, linked_resource, create):
    res = linked_resource
    theirs = create(res, globex)
    thread = _thread(services, globex)
    _link(services, globex, thread, res.link_type, theirs["id"])

    assert client.delete(res.item_url(theirs["id"]), headers=acme.auth).status_code == 404

    assert _links(services) == {(thread, res.link_type, theirs["id"])}
